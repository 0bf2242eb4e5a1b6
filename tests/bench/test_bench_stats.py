"""The benchmark's statistics, without sockets: percentiles, summaries, staleness."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.stats import memory_per_client, percentile, ratio, staleness, summarize, window


def test_percentile_interpolates_like_numpy() -> None:
    samples = [1.0, 2.0, 3.0, 4.0]
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 50) == 2.5
    assert percentile(samples, 100) == 4.0
    assert percentile(samples, 90) == pytest.approx(3.7)


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1), st.floats(0, 100))
def test_percentile_lies_within_the_samples(samples: list[float], q: float) -> None:
    ordered = sorted(samples)
    assert ordered[0] <= percentile(ordered, q) <= ordered[-1]


def test_percentile_rejects_what_it_cannot_answer() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match="150"):
        percentile([1.0], 150)


def test_summary_is_in_milliseconds_and_ordered() -> None:
    s = summarize([0.001 * i for i in range(1, 101)], rate=100.0)
    assert s.count == 100
    assert s.p50 == pytest.approx(50.5)
    assert s.p50 <= s.p90 <= s.p99 <= s.max == pytest.approx(100.0)
    assert s.rate == 100.0


def test_summary_of_nothing_says_nothing_was_received() -> None:
    with pytest.raises(ValueError, match="nothing was received"):
        summarize([])


def test_ratio_to_the_floor() -> None:
    assert ratio(2.0, 0.5) == 4.0
    assert ratio(None, 0.5) is None
    assert ratio(2.0, None) is None
    assert ratio(2.0, 0.0) is None


def test_window_keeps_what_was_sent_within_it() -> None:
    samples = [[9.0, 0.1], [10.0, 0.2], [11.0, 0.3], [12.5, 0.4]]
    assert window(samples, 10.0, 12.0) == [0.2, 0.3]


def test_staleness_is_first_poll_seeing_the_value_or_newer_minus_send_time() -> None:
    sent = [(1, 0.0), (2, 1.0), (3, 2.0), (4, 6.0)]
    # The poll at 5 s sees seq 3 (so also covers 1 and 2); the poll at 10 s sees seq 4.
    polls = [(5.0, 3), (10.0, 4)]
    assert staleness(sent, polls) == [5.0, 4.0, 3.0, 4.0]


def test_staleness_leaves_out_values_no_poll_saw() -> None:
    assert staleness([(1, 0.0), (2, 7.0)], [(5.0, 1)]) == [5.0]


def test_staleness_ignores_a_poll_answered_by_a_lagging_server() -> None:
    # The second poll got an older answer; seq 2 was already seen at 4 s.
    assert staleness([(2, 1.0)], [(4.0, 2), (5.0, 1)]) == [3.0]


def test_memory_per_client() -> None:
    assert memory_per_client(100_000, 300_000, 100) == 2000
    with pytest.raises(ValueError, match="got 0"):
        memory_per_client(1, 2, 0)
