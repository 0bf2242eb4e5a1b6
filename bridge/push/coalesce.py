"""Per-client coalescing of deltas (pure: the caller passes the time in).

A Coalescer holds, per event, the newest value of each key not yet sent to its client, so a
slow client costs memory bounded by the number of keys, never by the message rate. The
fan-out engine offers it every delta and takes from it whenever the client's transport can
take more (bridge/push/fanout.py). With ``interval`` > 0 (``FACTORY_COALESCE_MS``, moved
with the load by ``Pacing``), a busy event — more than ``burst`` deltas per
``interval``, see ``RateMeter`` — is also held to one message per ``interval``.

Versions: every message's ``prev`` is the version of the previous message this client got
(or of the full state it got), so the client's gap check holds across coalesced messages.
A message's ``version`` is the newest change it holds, or the client's version if that is
newer (with a clock, an event held back may go out after a newer one: then
``version == prev``). Once nothing is pending the client is exactly at the bridge's version.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from bridge.contract import EVENTS, FIELD, Event
from bridge.state.store import Delta, Entry


class Pacing:
    """The coalescing interval for the rate of changes now (issue 19; docs/benchmarks.md).

    Up to ``knee`` changes/s the interval is ``least``: a busy event is written to a client at
    most every ``least`` seconds and anything sparser goes at once, so nothing waits that a
    person at a screen could tell. Beyond the knee, writing every client that often only
    buries the browsers (and, on a small box, the bridge): the interval grows in proportion
    to the rate, to ``most`` at twice the knee and above. The rate is the number of changes
    recorded over the last ``window`` seconds.
    """

    def __init__(self, least: float, most: float, knee: float, window: float = 0.2) -> None:
        if least < 0:
            raise ValueError(f"coalescing interval must be >= 0, got {least}")
        if most < least:
            raise ValueError(f"coalescing interval under load ({most}) must be >= {least}")
        if knee <= 0:
            raise ValueError(f"coalescing knee must be > 0 changes/s, got {knee}")
        if window <= 0:
            raise ValueError(f"rate window must be > 0 seconds, got {window}")
        self.least = least
        self.most = most
        self.knee = knee
        self.window = window
        self._arrivals: deque[tuple[float, int]] = deque()
        self._counted = 0

    def record(self, now: float, changes: int) -> None:
        self._arrivals.append((now, changes))
        self._counted += changes
        self._forget(now)

    def rate(self, now: float) -> float:
        """Changes per second over the last window."""
        self._forget(now)
        return self._counted / self.window

    def interval(self, now: float) -> float:
        if self.most == self.least:
            return self.least
        excess = (self.rate(now) - self.knee) / self.knee
        return self.least + (self.most - self.least) * min(1.0, max(0.0, excess))

    def _forget(self, now: float) -> None:
        while self._arrivals and now - self._arrivals[0][0] > self.window:
            self._counted -= self._arrivals.popleft()[1]


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
    items: dict[Event, dict[str, Entry | None]] = {}
    for delta in deltas:
        known = merged.get(delta.event)
        if known is None:
            items[delta.event] = dict(delta.items)
            merged[delta.event] = Delta(delta.event, delta.prev, delta.version, items[delta.event])
        else:
            items[delta.event].update(delta.items)
            merged[delta.event] = Delta(delta.event, known.prev, delta.version, known.items)
    return sorted(merged.values(), key=lambda d: d.version)


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
        # Per event: the newest value of each key not yet sent, and the newest version among
        # them. Plain dicts: this runs per client per flush.
        self._pending: dict[Event, dict[str, Entry | None]] = {}
        self._pending_version: dict[Event, int] = {}
        self._last_sent: dict[Event, float] = {}

    def reset(self, version: int) -> None:
        """The client has just received the full state at ``version``."""
        self.sent_version = version
        self._pending.clear()
        self._pending_version.clear()

    def offer(self, delta: Delta) -> None:
        if delta.version <= self.sent_version:
            return  # already part of the full state the client holds
        items = self._pending.get(delta.event)
        if items is None:
            self._pending[delta.event] = dict(delta.items)
        else:
            items.update(delta.items)
        self._pending_version[delta.event] = delta.version

    @property
    def pending(self) -> int:
        """How many keys are waiting (the memory this client costs)."""
        return sum(len(items) for items in self._pending.values())

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
        ready = [e for e in self._pending if now >= self._due(e, busy)]
        # In version order: without a clock every message then has version > prev, which the
        # dashboard requires (web/src/plant.ts ignores a delta whose version it holds). Sending
        # the relay states first looked like "commands ahead of telemetry" but gave the events
        # after them version == prev, and the dashboard dropped them (browser test).
        ready.sort(key=self._pending_version.__getitem__)
        out = []
        for event in ready:
            version = max(self._pending_version.pop(event), self.sent_version)
            items = self._pending.pop(event)
            payload = {"prev": self.sent_version, "version": version, FIELD[event]: items}
            out.append(Outgoing(event, payload))
            self.sent_version = version
            self._last_sent[event] = now
        return out

    # Clients in step --------------------------------------------------------
    # Most clients hold exactly what the last flush sent. For them, offer + take of a batch
    # gives the same messages as for any other such client; the flusher computes those once
    # and only moves each in-step client's bookkeeping forward (bench: the per-client offer
    # and take were a third of the bridge's CPU at 1,000 clients).

    def in_step(self, version: int, events: Iterable[Event], now: float,
                busy: Collection[Event]) -> bool:  # fmt: skip
        """Whether offer + take of a batch starting at ``version`` would send all of it now."""
        return (
            not self._pending
            and self.sent_version == version
            and all(now >= self._due(e, busy) for e in events)
        )

    def sent(self, version: int, events: Iterable[Event], now: float) -> None:
        """Record that the batch's messages, up to ``version``, went to this client."""
        self.sent_version = version
        for event in events:
            self._last_sent[event] = now
