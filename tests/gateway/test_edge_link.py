"""What a gateway behind an edge knows of the edge's link (pure): the notification's two
payloads, and the look-back of what it handed to the edge broker lately."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.edge_link import EdgeLink, LookBack, parse_link


def test_a_notification_is_1_or_0_and_anything_else_is_named() -> None:
    assert parse_link(b"1") is EdgeLink.UP
    assert parse_link(b"0") is EdgeLink.DOWN
    for bad in (b"", b"up", b"1\n", b"true"):
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            parse_link(bad)


steps = st.lists(
    st.tuples(st.floats(0, 30, allow_nan=False), st.integers()), min_size=0, max_size=60
)


@given(steps=steps, window=st.floats(0.5, 60), max_items=st.integers(1, 25), wait=st.floats(0, 90))
def test_the_look_back_gives_what_was_handed_over_within_its_window_oldest_first(
    steps: list[tuple[float, int]], window: float, max_items: int, wait: float
) -> None:
    look_back: LookBack[int] = LookBack(window, max_items)
    now, handed = 0.0, []
    for gap, item in steps:
        now += gap
        look_back.add(now, item)
        handed.append((now, item))
        assert len(look_back) <= max_items
    now += wait
    within = [item for at, item in handed if at >= now - window]
    assert look_back.drain(now) == within[-max_items:]
    assert look_back.drain(now) == [], "drained means forgotten"


def test_a_look_back_needs_a_window_and_room() -> None:
    with pytest.raises(ValueError, match="positive"):
        LookBack(0, 10)
    with pytest.raises(ValueError, match="positive"):
        LookBack(10, 0)
