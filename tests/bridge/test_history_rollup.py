"""The pure roll-up of the stored history: aggregates, tiers, downsampling, ranged queries."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.state.history_store import parse_history_query
from bridge.state.rollup import (
    Aggregate,
    Tier,
    bucket_start,
    choose_tier,
    effective_step,
    roll_up,
    roll_up_samples,
)

TS = st.floats(min_value=1.7e9, max_value=1.7e9 + 7 * 86400, allow_nan=False)
VALUE = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False) | st.booleans().map(float)
SAMPLES = st.lists(st.tuples(st.sampled_from("abc"), TS, VALUE), max_size=300)
WIDTH = st.sampled_from([1, 60, 600, 3600]) | st.floats(min_value=0.5, max_value=5000)


def samples_of(samples: list[tuple[str, float, float]]) -> list[tuple[str, Aggregate]]:
    return [(series, Aggregate.of(ts, value)) for series, ts, value in samples]


def assert_same(a: dict[tuple[str, float], Aggregate], b: dict[tuple[str, float], Aggregate]):
    assert a.keys() == b.keys()
    for slot, got in a.items():
        want = b[slot]
        assert (got.start, got.min, got.max, got.samples) == (
            want.start,
            want.min,
            want.max,
            want.samples,
        )
        assert math.isclose(got.sum, want.sum, rel_tol=1e-9, abs_tol=1e-6)
        assert got.last_ts == want.last_ts


@given(SAMPLES, WIDTH)
def test_every_bucket_has_min_le_avg_le_max_and_counts_every_sample(samples, width):
    buckets = roll_up(samples_of(samples), width)
    assert sum(agg.samples for agg in buckets.values()) == len(samples)
    for (series, start), agg in buckets.items():
        assert agg.min <= agg.avg <= agg.max
        assert agg.min <= agg.last <= agg.max
        inside = [(ts, v) for s, ts, v in samples if s == series and start <= ts < start + width]
        assert len(inside) == agg.samples
        assert agg.last_ts == max(ts for ts, _ in inside)
        assert (agg.min, agg.max) == (min(v for _, v in inside), max(v for _, v in inside))


@given(SAMPLES, WIDTH)
def test_the_disk_threads_fast_roll_up_of_readings_is_the_roll_up(samples, width):
    assert_same(roll_up_samples(samples, width), roll_up(samples_of(samples), width))
    for slot, agg in roll_up_samples(samples, width).items():
        assert agg.last == roll_up(samples_of(samples), width)[slot].last


@given(SAMPLES, st.lists(st.integers(min_value=0, max_value=300), max_size=5))
def test_no_sample_is_lost_or_counted_twice_when_batches_split_anywhere(samples, cuts):
    """What the bridge does: each flush rolls up its batch, the store merges per bucket."""
    edges = [0, *sorted(c for c in cuts if c <= len(samples)), len(samples)]
    merged: dict[tuple[str, float], Aggregate] = {}
    for lo, hi in itertools.pairwise(edges):
        for slot, agg in roll_up(samples_of(samples[lo:hi]), 60).items():
            merged[slot] = merged[slot].merged(agg) if slot in merged else agg
    assert_same(merged, roll_up(samples_of(samples), 60))


@given(SAMPLES)
def test_tiers_rolled_from_the_finer_tier_equal_tiers_rolled_from_the_samples(samples):
    """No point is lost across a tier boundary: 1 s -> 60 s -> 600 s is the same as direct."""
    seconds = roll_up(samples_of(samples), 1)
    minutes = roll_up(((s, agg) for (s, _), agg in seconds.items()), 60)
    ten = roll_up(((s, agg) for (s, _), agg in minutes.items()), 600)
    assert_same(minutes, roll_up(samples_of(samples), 60))
    assert_same(ten, roll_up(samples_of(samples), 600))


@given(SAMPLES, TS, st.floats(min_value=1, max_value=86400), st.integers(1, 2000))
@settings(max_examples=200)
def test_a_downsampled_range_never_has_more_points_than_asked(samples, start, span, points):
    end = start + span
    step = effective_step(start, end, None, points)
    inside = [(s, Aggregate.of(ts, v)) for s, ts, v in samples if s == "a" and start <= ts < end]
    buckets = roll_up(inside, step, origin=start)
    assert len(buckets) <= points
    assert all(start <= slot_start < end for _, slot_start in buckets)
    assert sum(agg.samples for agg in buckets.values()) == len(inside)


def test_the_asked_step_is_kept_when_it_fits_and_widened_when_it_does_not():
    assert effective_step(0, 3600, 10, 1000) == 10
    assert effective_step(0, 3600, 1, 1000) == 3.6
    assert effective_step(0, 3600, None, 60) == 60
    with pytest.raises(ValueError, match="before"):
        effective_step(10, 10, None, 5)


def test_bucket_start_is_aligned_to_the_origin():
    assert bucket_start(125.5, 60) == 120
    assert bucket_start(125.5, 60, origin=100) == 100
    assert bucket_start(99.0, 60, origin=100) == 40


def test_the_last_value_is_the_newest_whatever_the_order_of_arrival():
    agg = Aggregate.of(20, 2.0).merged(Aggregate.of(10, 1.0))
    assert (agg.last, agg.last_ts, agg.samples, agg.avg) == (2.0, 20, 2, 1.5)


TIERS = [Tier("second", 1, 3600), Tier("minute", 60, 7 * 86400), Tier("ten", 600, 365 * 86400)]
NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("start", "step", "tier"),
    [
        (NOW - 600, 0.6, "second"),  # short recent range: the finest tier
        (NOW - 600, 30, "second"),  # a minute is coarser than the step asked for
        (NOW - 86400, 86.4, "minute"),  # a day: per-second is gone, per-minute fits
        (NOW - 3000, 1200, "ten"),  # coarse step: the coarsest tier that is fine enough
        (NOW - 30 * 86400, 60, "ten"),  # older than a week: only the 10-minute tier holds it
        (NOW - 800 * 86400, 10, "ten"),  # older than anything kept: the coarsest
    ],
)
def test_a_query_reads_the_coarsest_tier_fine_enough_that_still_holds_its_start(start, step, tier):
    assert choose_tier(TIERS, start, step, NOW).name == tier


def test_bad_ranges_name_every_bad_parameter():
    problem = parse_history_query({"from": "yesterday", "step": "-1", "points": "0"}, NOW)
    assert isinstance(problem, str)
    for name in ("from", "step", "points", "yesterday"):
        assert name in problem
    backwards = parse_history_query({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01"}, NOW)
    assert backwards == "from (2026-01-02T00:00:00Z) must be before to (2026-01-01T00:00:00Z)"
    unknown = parse_history_query({"from": "1", "colour": "red"}, NOW)
    assert isinstance(unknown, str)
    assert "colour" in unknown
    assert isinstance(parse_history_query({"from": "nan"}, NOW), str)


def test_times_are_unix_seconds_or_iso_8601_utc_by_default():
    query = parse_history_query({"from": "2026-01-01T00:00:00", "to": "1767229260.5"}, NOW)
    assert not isinstance(query, str)
    assert query.span(NOW) == (1767225600.0, 1767229260.5)
    offset = parse_history_query({"from": "2026-01-01T01:00:00+01:00"}, 1767229200.0)
    assert not isinstance(offset, str)
    assert offset.span(1767229200.0) == (1767225600.0, 1767229200.0)
