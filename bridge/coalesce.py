"""Per-client coalescing of deltas (pure: the caller passes the time in).

A client gets at most one message per event per ``interval``; what arrives in between is
merged, newest value per key, so a slow client costs memory bounded by the number of keys,
never by the message rate. An event that has been quiet for ``interval`` goes out at once,
whatever the other events are doing.

Versions: every message's ``prev`` is the version of the previous message this client got
(or of the full state it got), so the client's gap check holds across coalesced messages.
A message's ``version`` is the newest change it holds, or the client's version if that is
newer (an event held back may go out after a newer one: then ``version == prev``). Once
nothing is pending the client is exactly at the bridge's version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bridge.store import FIELD, Delta, Entry, Event


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

    def _due(self, event: Event) -> float:
        return self._last_sent.get(event, float("-inf")) + self.interval

    def due_at(self) -> float | None:
        """When ``take`` will have something to send; None when nothing is waiting."""
        return min((self._due(e) for e in self._pending), default=None)

    def take(self, now: float) -> list[Outgoing]:
        """The messages to send now (possibly none); call when the client can take more."""
        ready = [(e, p) for e, p in self._pending.items() if now >= self._due(e)]
        out = []
        for event, pending in sorted(ready, key=lambda ep: ep[1].version):
            version = max(pending.version, self.sent_version)
            payload = {"prev": self.sent_version, "version": version, FIELD[event]: pending.items}
            out.append(Outgoing(event, payload))
            self.sent_version = version
            self._last_sent[event] = now
            del self._pending[event]
        return out
