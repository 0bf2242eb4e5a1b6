"""The store-and-forward buffer's policy (pure): bounded, oldest dropped first and counted,
order kept, nothing acknowledged sent again, everything else sent at least once."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from gateway.forward_buffer import Entry, ForwardBuffer, Limits

LIMITS = Limits(max_samples=20, max_bytes=600, max_age_s=50.0)


class BufferMachine(RuleBasedStateMachine):
    """Samples taken (a clock that only goes forward), batches sent, acknowledged or lost."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = ForwardBuffer(LIMITS)
        self.now = 1000.0
        self.taken: list[int] = []  # every id, in the order taken
        self.acked: set[int] = set()
        self.dropped: set[int] = set()
        self.in_flight: list[int] = []

    @rule(sizes=st.lists(st.integers(1, 120), max_size=15), gap=st.floats(0, 20))
    def take(self, sizes: list[int], gap: float) -> None:
        self.now += gap
        ids = self.buffer.new_ids(len(sizes))
        entries = [Entry(i, self.now, n) for i, n in zip(ids, sizes, strict=True)]
        dropped = self.buffer.add(entries, self.now)
        assert dropped == sorted(dropped)
        self.taken += ids
        self.dropped.update(dropped)

    @rule(gap=st.floats(0, 60))
    def time_passes(self, gap: float) -> None:
        self.now += gap
        self.dropped.update(self.buffer.enforce(self.now))

    @rule(size=st.integers(1, 30))
    def send(self, size: int) -> None:
        batch = [e.id for e in self.buffer.next_batch(size)]
        if self.in_flight:
            assert batch == [], "a second batch while one is in flight"
            return
        assert not set(batch) & self.acked, "an acknowledged sample sent again"
        kept = [i for i in self.taken if i not in self.acked and i not in self.dropped]
        assert batch == kept[: len(batch)], "not the oldest first, in order"
        self.in_flight = batch

    @precondition(lambda self: bool(self.in_flight))
    @rule()
    def ack(self) -> None:
        removed = self.buffer.acked()
        assert set(removed) <= set(self.in_flight)
        assert set(removed) == set(self.in_flight) - self.dropped
        self.acked.update(removed)
        self.in_flight = []

    @precondition(lambda self: bool(self.in_flight))
    @rule()
    def link_lost(self) -> None:
        self.buffer.requeue()
        self.in_flight = []

    @invariant()
    def bounded(self) -> None:
        assert len(self.buffer) <= LIMITS.max_samples
        assert self.buffer.bytes <= LIMITS.max_bytes

    @invariant()
    def what_is_kept_is_the_newest_not_yet_acknowledged_in_order(self) -> None:
        kept = self.buffer.ids()
        assert kept == sorted(kept)
        pending = [i for i in self.taken if i not in self.acked]
        assert kept == pending[len(pending) - len(kept) :], "something newer dropped first"

    @invariant()
    def every_sample_is_kept_acknowledged_or_counted_as_dropped(self) -> None:
        assert self.buffer.dropped == len(self.dropped)
        gone = len(self.acked) + len(self.dropped - self.acked)
        assert len(self.taken) == len(self.buffer) + gone


TestBufferMachine = BufferMachine.TestCase
TestBufferMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


def test_a_buffer_reopened_from_disk_goes_on_with_its_ids_and_drop_count() -> None:
    entries = [Entry(7, 100.0, 10), Entry(8, 101.0, 10)]
    buffer = ForwardBuffer(LIMITS, entries, next_id=9, dropped=4)
    assert list(buffer.new_ids(2)) == [9, 10]
    assert [e.id for e in buffer.next_batch(10)] == [7, 8]
    assert buffer.dropped == 4
    with pytest.raises(ValueError, match="not after"):
        buffer.add([Entry(3, 102.0, 1)], 102.0)


def test_one_sample_bigger_than_the_byte_limit_is_dropped_at_once() -> None:
    buffer = ForwardBuffer(LIMITS)
    assert buffer.add([Entry(0, 1.0, LIMITS.max_bytes + 1)], 1.0) == [0]
    assert (len(buffer), buffer.dropped) == (0, 1)
