"""What a gateway behind an edge broker knows of the edge's link to the central broker (pure:
no clock, no I/O).

The edge's Mosquitto bridge says it on ``<prefix>/$edges/<edge>/link``, retained: ``1`` up,
``0`` down (docs/mqtt-contract.md, "Edge brokers"). While it is down, what the gateway
publishes reaches the edge broker only, and the store and forward keeps it too. The edge
notices a dead link only after its keepalive (up to about twice it), and what it was handed
meanwhile never reaches the central broker: so the gateway remembers what it handed over in
the last seconds (``LookBack``) and keeps that as well when the ``0`` arrives. Readers store
each ``(gateway, device, ts)`` once, so what did get through before the cut costs nothing.
"""

from __future__ import annotations

import enum
from collections import deque
from typing import Final, Generic, TypeVar

T = TypeVar("T")

UP: Final = b"1"
DOWN: Final = b"0"


class EdgeLink(enum.Enum):
    UNKNOWN = "unknown"  # not heard since the gateway (re)connected to its edge broker
    UP = "up"
    DOWN = "down"


def parse_link(payload: bytes) -> EdgeLink:
    """The state a bridge notification says; ValueError naming the payload otherwise."""
    if payload == UP:
        return EdgeLink.UP
    if payload == DOWN:
        return EdgeLink.DOWN
    shown = payload[:32]
    raise ValueError(f"an edge link notification is b'1' (up) or b'0' (down), got {shown!r}")


class LookBack(Generic[T]):
    """What was handed over in the last ``window_s`` seconds, oldest first; at most
    ``max_items`` of it (the oldest go first), so a burst cannot grow it without bound."""

    def __init__(self, window_s: float, max_items: int) -> None:
        if window_s <= 0 or max_items <= 0:
            raise ValueError(f"window_s and max_items must be positive: {window_s}, {max_items}")
        self.window_s = window_s
        self._items: deque[tuple[float, T]] = deque(maxlen=max_items)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, now: float, item: T) -> None:
        """``item`` handed over at ``now`` (a monotonic clock, never going back)."""
        self._forget(now)
        self._items.append((now, item))

    def drain(self, now: float) -> list[T]:
        """Everything handed over within the window before ``now``, oldest first; forgotten."""
        self._forget(now)
        items = [item for _, item in self._items]
        self._items.clear()
        return items

    def _forget(self, now: float) -> None:
        oldest = now - self.window_s
        while self._items and self._items[0][0] < oldest:
            self._items.popleft()
