"""The store-and-forward buffer's policy (pure: no clock, no I/O): what it keeps, what it
drops, what it sends next, and what an acknowledgement removes.

Samples are kept in the order they were taken, each with an id that only grows (across
restarts too: the disk remembers the next one). The buffer is a queue: new samples join at
the end; when it is over a limit (samples, bytes, age) the oldest go first, and the number
dropped is counted. One batch at a time is in flight, from the front: an acknowledgement
removes exactly that batch, so nothing acknowledged is ever sent again; a lost link puts the
batch back to be sent again (at least once).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    max_samples: int
    max_bytes: int
    max_age_s: float


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    ts: float  # when the sample was taken (Unix seconds): the age limit's measure
    size: int  # bytes it takes on the wire (and, near enough, on disk)


class ForwardBuffer:
    def __init__(
        self, limits: Limits, entries: Iterable[Entry] = (), next_id: int = 0, dropped: int = 0
    ) -> None:
        """``entries`` as found on disk (oldest first); ``dropped`` over the buffer's life."""
        self.limits = limits
        self._entries: deque[Entry] = deque()
        self._bytes = 0
        self.next_id = next_id
        self.dropped = dropped
        self._in_flight_last: int | None = None  # id of the last entry of the batch in flight
        for entry in entries:
            self._append(entry)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def in_flight(self) -> bool:
        return self._in_flight_last is not None

    def ids(self) -> list[int]:
        return [e.id for e in self._entries]

    def new_ids(self, count: int) -> range:
        """Ids for the next ``count`` samples, in the order they were taken."""
        first = self.next_id
        self.next_id += count
        return range(first, first + count)

    def add(self, entries: Sequence[Entry], now: float) -> list[int]:
        """Keep new samples (ids from ``new_ids``); return the ids dropped to stay in bounds,
        oldest first (possibly some of the new ones, when one alone is over a limit)."""
        for entry in entries:
            self._append(entry)
        return self.enforce(now)

    def enforce(self, now: float) -> list[int]:
        """Drop from the front while over a limit: too many, too big, or taken too long ago."""
        limits, dropped = self.limits, []
        oldest_kept = now - limits.max_age_s
        while self._entries and (
            len(self._entries) > limits.max_samples
            or self._bytes > limits.max_bytes
            or self._entries[0].ts < oldest_kept
        ):
            dropped.append(self._pop().id)
        self.dropped += len(dropped)
        return dropped

    def next_batch(self, max_samples: int) -> list[Entry]:
        """The oldest samples not yet acknowledged, now in flight; none while one batch is."""
        if self.in_flight or not self._entries:
            return []
        batch = [self._entries[i] for i in range(min(max_samples, len(self._entries)))]
        self._in_flight_last = batch[-1].id
        return batch

    def acked(self) -> list[int]:
        """The batch in flight arrived: the ids it removes (those not dropped meanwhile)."""
        last, self._in_flight_last = self._in_flight_last, None
        removed: list[int] = []
        while last is not None and self._entries and self._entries[0].id <= last:
            removed.append(self._pop().id)
        return removed

    def requeue(self) -> None:
        """The batch in flight may not have arrived (link lost, no acknowledgement): it is the
        front of the queue again and goes out again."""
        self._in_flight_last = None

    def _append(self, entry: Entry) -> None:
        if self._entries and entry.id <= self._entries[-1].id:
            raise ValueError(f"sample id {entry.id} is not after {self._entries[-1].id}")
        self._entries.append(entry)
        self._bytes += entry.size
        self.next_id = max(self.next_id, entry.id + 1)

    def _pop(self) -> Entry:
        entry = self._entries.popleft()
        self._bytes -= entry.size
        return entry
