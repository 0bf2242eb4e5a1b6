"""Per-client coalescing of deltas (pure: the caller passes the time in).

While an event is quiet (at most ``burst`` deltas per ``interval``, see ``RateMeter``), each
delta goes out at once. Once it is busy, a client gets at most one message for that event per
``interval``; what arrives in between is merged, newest value per key, so a slow client costs
memory bounded by the number of keys, never by the message rate.

Versions: every message's ``prev`` is the version of the previous message this client got
(or of the full state it got), so the client's gap check holds across coalesced messages.
A message's ``version`` is the newest change it holds, or the client's version if that is
newer (an event held back may go out after a newer one: then ``version == prev``). Once
nothing is pending the client is exactly at the bridge's version.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from bridge.store import EVENTS, FIELD, Delta, Entry, Event


class RateMeter:
    """Tells which events are busy: more than ``burst`` deltas within the last ``interval``."""

    def __init__(self, interval: float, burst: int) -> None:
        if burst < 1:
            raise ValueError(f"coalescing burst must be >= 1, got {burst}")
        self.interval = interval
        self._arrivals: dict[Event, deque[float]] = {e: deque(maxlen=burst + 1) for e in EVENTS}

    def record(self, event: Event, now: float) -> None:
        self._arrivals[event].append(now)

    def busy(self, now: float) -> set[Event]:
        return {
            event
            for event, times in self._arrivals.items()
            if len(times) == times.maxlen and now - times[0] < self.interval
        }


def merge(deltas: Iterable[Delta]) -> list[Delta]:
    """One delta per event holding the newest value of each key (done once for all clients)."""
    merged: dict[Event, Delta] = {}
    for delta in deltas:
        known = merged.get(delta.event)
        if known is None:
            merged[delta.event] = Delta(delta.event, delta.prev, delta.version, dict(delta.items))
        else:
            known.items.update(delta.items)
            merged[delta.event] = Delta(delta.event, known.prev, delta.version, known.items)
    return sorted(merged.values(), key=lambda d: d.version)


@dataclass(slots=True)
class _Pending:
    version: int
    items: dict[str, Entry] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outgoing:
    event: Event
    payload: dict[str, Any]


class Coalescer:
    def __init__(self, interval: float, version: int) -> None:
        if interval < 0:
            raise ValueError(f"coalescing interval must be >= 0, got {interval}")
        self.interval = interval
        self.sent_version = version
        self._pending: dict[Event, _Pending] = {}
        self._last_sent: dict[Event, float] = {}

    def reset(self, version: int) -> None:
        """The client has just received the full state at ``version``."""
        self.sent_version = version
        self._pending.clear()

    def offer(self, delta: Delta) -> None:
        if delta.version <= self.sent_version:
            return  # already part of the full state the client holds
        pending = self._pending.get(delta.event)
        if pending is None:
            pending = self._pending[delta.event] = _Pending(delta.version)
        pending.version = delta.version
        pending.items.update(delta.items)

    @property
    def pending(self) -> int:
        """How many keys are waiting (the memory this client costs)."""
        return sum(len(p.items) for p in self._pending.values())

    def _due(self, event: Event, busy: Collection[Event]) -> float:
        if event not in busy:
            return float("-inf")
        return self._last_sent.get(event, float("-inf")) + self.interval

    def due_at(self, busy: Collection[Event] = EVENTS) -> float | None:
        """When ``take`` will have something to send; None when nothing is waiting."""
        return min((self._due(e, busy) for e in self._pending), default=None)

    def take(self, now: float, busy: Collection[Event] = EVENTS) -> list[Outgoing]:
        """The messages to send now (possibly none); call when the client can take more.

        Only ``busy`` events are held to one message per interval; the others go at once.
        """
        ready = [(e, p) for e, p in self._pending.items() if now >= self._due(e, busy)]
        out = []
        for event, pending in sorted(ready, key=lambda ep: ep[1].version):
            version = max(pending.version, self.sent_version)
            payload = {"prev": self.sent_version, "version": version, FIELD[event]: pending.items}
            out.append(Outgoing(event, payload))
            self.sent_version = version
            self._last_sent[event] = now
            del self._pending[event]
        return out
