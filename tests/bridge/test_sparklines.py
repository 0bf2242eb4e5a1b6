"""The sparklines a ``state`` carries: bounded over the whole plant, each line still whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bridge.state.sparklines import History, thinned


@given(st.lists(st.floats(0, 1e6), max_size=400), st.integers(2, 300))
def test_thinned_keeps_the_ends_in_order_within_the_bound(times: list[float], most: int) -> None:
    points = [(t, float(i)) for i, t in enumerate(sorted(times))]
    kept = thinned(points, most)
    assert len(kept) == min(len(points), most)
    assert kept == sorted(kept)  # a subsequence in time order
    assert set(kept) <= set(points)
    if points:
        assert kept[0] == points[0] and kept[-1] == points[-1]  # the latest is never dropped


def test_a_large_plant_gets_its_share_and_a_small_one_everything() -> None:
    history = History(window=3600, points=300)
    for device in range(50):
        for t in range(0, 3600, 12):  # one point in every 12 s bucket: 300 each
            history.add(f"gw/dev{device}", float(t), t)
    assert all(len(line) == 300 for line in history.for_state(budget=100_000).values())
    small = history.for_state(budget=1_000)  # 20 points for each of 50 devices
    assert {len(line) for line in small.values()} == {20}
    assert all(line[-1] == (3588.0, 3588) for line in small.values())
    assert {len(line) for line in history.for_state(budget=10).values()} == {2}
