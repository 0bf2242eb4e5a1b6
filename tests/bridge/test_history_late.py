"""Issue 18 item 2: late samples (kept by a gateway through an outage) go into the history in
their own place, once each, merged into buckets already rolled up."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_history_store import T0, TEMP, Clock, open_store

from bridge.state.history_store import DB_NAME, HistoryStore, Sample, late_samples_of
from factory_core.contract import Topics, decode

TIERS = ("second", "minute", "ten_minutes")


def tiers_of(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every aggregate of every tier, as stored (sums and counts, not averages)."""
    with sqlite3.connect(path / DB_NAME) as db:
        return {
            tier: db.execute(
                f"SELECT start, min, max, sum, count, last, last_ts FROM tier_{tier} "
                "ORDER BY series, start"
            ).fetchall()
            for tier in TIERS
        }


def reading(ts: float, value: float) -> Sample:
    return (TEMP, ts, value, False)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[HistoryStore]:
    opened = open_store(tmp_path, clock=clock)
    yield opened
    opened.close()


def test_late_readings_fill_the_gap_in_every_tier_and_merge_into_rolled_up_minutes(
    store: HistoryStore, clock: Clock
):
    # Live before the cut (0..19 s), then the outage (20..39 s), then live again (40..59 s):
    # the minute and ten-minute buckets were rolled up without the outage when it arrives.
    for i in [*range(20), *range(40, 60)]:
        store.record(reading(T0 + i, float(i)))
    store.flush()
    before = store.query(TEMP, T0, T0 + 60, 60, 10)
    assert before.points == [[T0, 0.0, 29.5, 59.0, 59.0]]  # 40 readings, avg of 0-19, 40-59
    store.record_late([reading(T0 + i, 100.0) for i in range(20, 40)])
    store.flush()
    seconds = store.query(TEMP, T0, T0 + 60, None, 1000)
    assert [p[0] for p in seconds.points] == [T0 + i for i in range(60)], "a gap remains"
    assert seconds.points[25] == [T0 + 25, 100.0, 100.0, 100.0, 100.0]
    # The minute holds all 60 now (avg (1180 + 2000) / 60), and its last is still the latest.
    assert store.query(TEMP, T0, T0 + 60, 60, 10).points == [[T0, 0.0, 53.0, 100.0, 59.0]]
    clock.now = T0 + 2 * 86400  # from the ten-minute tier: the same
    assert store.query(TEMP, T0, T0 + 600, 600, 10).points == [[T0, 0.0, 53.0, 100.0, 59.0]]


def test_a_late_batch_delivered_twice_counts_once(store: HistoryStore):
    store.record(reading(T0 + 100, 5.0))
    batch = [reading(T0 + 10, 1.0), reading(T0 + 11, 3.0)]
    store.record_late(batch)
    store.flush()
    store.record_late(batch)  # QoS 1 is at least once
    store.flush()
    minute = store.query(TEMP, T0, T0 + 120, 120, 10)
    assert minute.points == [[T0, 1.0, 3.0, 5.0, 5.0]]  # three readings, avg 3
    assert store.skipped == 2


def test_a_late_reading_newer_than_any_stored_makes_its_retained_repeat_count_once(
    store: HistoryStore,
):
    store.record_late([reading(T0 + 5, 7.0)])
    store.flush()
    store.record(reading(T0 + 5, 7.0))  # the same reading as the retained state
    store.record(reading(T0 + 6, 9.0))
    store.flush()
    assert store.query(TEMP, T0, T0 + 60, 60, 10).points == [[T0, 7.0, 8.0, 9.0, 9.0]]


def test_late_readings_outside_what_is_kept_or_from_the_future_are_skipped(
    store: HistoryStore, clock: Clock
):
    oldest_kept = clock.now - 365 * 86400
    store.record_late([reading(oldest_kept - 10, 1.0), reading(clock.now + 3600, 2.0)])
    store.flush()
    assert store.query(TEMP, T0, T0 + 60, 60, 10).recorded is False
    assert store.skipped == 2


def test_the_late_samples_message_becomes_good_readings_only():
    topics = Topics()
    message = decode(
        topics,
        topics.late_samples("line1"),
        b'{"seq": 3, "samples": [{"device": "temperature", "ts": 10, "value": 20.5},'
        b' {"device": "temperature", "ts": 11, "value": null, "quality": "bad"},'
        b' {"device": "door", "ts": 12, "value": true}]}',
    )
    assert late_samples_of(message) == [
        (("device", "line1", "temperature"), 10.0, 20.5, False),
        (("device", "line1", "door"), 12.0, 1.0, True),
    ]


# One reading a second (integer values: sums are exact whatever the order of addition).
values = st.lists(st.integers(-1000, 1000), min_size=3, max_size=400)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), values=values)
def test_an_outage_forwarded_late_stores_what_an_unbroken_link_stores(
    data: st.DataObject, values: list[int]
) -> None:
    """Whatever the cut, the order and the duplicates of the late batches, every tier ends
    up with exactly the aggregates of the same readings recorded live without a cut."""
    readings = [reading(T0 + 1.5 * i, float(v)) for i, v in enumerate(values)]
    cut_from = data.draw(st.integers(0, len(readings) - 1), label="cut from")
    cut_to = data.draw(st.integers(cut_from + 1, len(readings)), label="cut to")
    late = readings[cut_from:cut_to]
    sent = data.draw(st.lists(st.sampled_from(late), min_size=1), label="redelivered") + late
    order = data.draw(st.permutations(sent), label="arrival order")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(order)), max_size=4), label="flushes"))
    with tempfile.TemporaryDirectory() as unbroken_dir, tempfile.TemporaryDirectory() as cut_dir:
        unbroken = open_store(Path(unbroken_dir))
        for r in readings:
            unbroken.record(r)
        unbroken.close()

        broken = open_store(Path(cut_dir))
        for r in readings[:cut_from]:
            broken.record(r)
        broken.flush()
        for r in readings[cut_to:]:  # live again (the current state) before the backlog
            broken.record(r)
        for start, end in zip([0, *cuts], [*cuts, len(order)], strict=True):
            broken.record_late(order[start:end])
            broken.flush()
        broken.close()
        assert tiers_of(Path(cut_dir)) == tiers_of(Path(unbroken_dir))
