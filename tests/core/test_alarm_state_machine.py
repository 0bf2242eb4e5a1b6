"""The alarm state machine (pure): detection with deadband and on-delay, the ISA-18.2 lifecycle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factory_core.alarms import LEGAL, Alarm, AlarmError, Detector, Limit, legal

HI = 80.0
BAND = 2.0

# (seconds since the previous sample, value): a sensor wandering around the limit.
samples = st.lists(
    st.tuples(
        st.floats(min_value=0.01, max_value=5.0),
        st.floats(min_value=70.0, max_value=90.0, allow_nan=False),
    ),
    max_size=200,
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("value"), st.floats(min_value=0.01, max_value=5), st.booleans()),
        st.tuples(st.just("ack"), st.floats(min_value=0.01, max_value=5), st.just(True)),
    ),
    max_size=200,
)


def run(limit: Limit, delay: float, sequence: list[tuple[float, float]]) -> list[dict]:
    """Feed the samples through detector and alarm; one record per sample."""
    detector, alarm, now, records = Detector(delay), Alarm(), 1000.0, []
    for dt, value in sequence:
        now += dt
        detector = detector.offer(limit.beyond(value, detector.present), now)
        before, alarm = alarm, alarm.condition(detector.present, now)
        records.append({"t": now, "v": value, "before": before, "after": alarm})
    return records


@settings(max_examples=500, deadline=None)
@given(samples)
def test_no_chattering_inside_the_deadband(sequence: list[tuple[float, float]]) -> None:
    """It comes in only above the limit and goes out only below limit - deadband."""
    for r in run(Limit("hi", HI, BAND), 0.0, sequence):
        if r["after"].active and not r["before"].active:
            assert r["v"] > HI
        if r["before"].active and not r["after"].active:
            assert r["v"] <= HI - BAND


@settings(max_examples=500, deadline=None)
@given(samples, st.floats(min_value=0.0, max_value=10.0))
def test_the_on_delay_is_respected(sequence: list[tuple[float, float]], delay: float) -> None:
    """Raised only once every sample of the last ``delay`` seconds was beyond the limit."""
    records = run(Limit("hi", HI, BAND), delay, sequence)
    for i, r in enumerate(records):
        if r["after"].active and not r["before"].active:
            # The run of samples in alarm that ends here began at least ``delay`` ago.
            j = i
            while j > 0 and records[j - 1]["v"] > HI and not records[j - 1]["after"].active:
                j -= 1
            assert r["t"] - records[j]["t"] >= delay
            assert all(x["v"] > HI for x in records[j : i + 1])


@settings(max_examples=500, deadline=None)
@given(operations)
def test_every_transition_is_legal(ops: list[tuple[str, float, bool]]) -> None:
    alarm, now = Alarm(), 0.0
    for op, dt, present in ops:
        now += dt
        after = alarm.condition(present, now) if op == "value" else alarm.acknowledge("ann", now)
        assert legal(alarm.phase, after.phase), (alarm.phase, after.phase)
        alarm = after


def test_the_isa_lifecycle_in_order() -> None:
    alarm = Alarm()
    assert alarm.phase == "normal"
    alarm = alarm.condition(True, 1.0)
    assert (alarm.phase, alarm.raised) == ("unacked", 1.0)
    alarm = alarm.acknowledge("ann", 2.0)
    assert (alarm.phase, alarm.acked_by, alarm.acked_at) == ("acked", "ann", 2.0)
    assert alarm.acknowledge("bob", 3.0) == alarm  # a repeat is harmless: the first one wins
    alarm = alarm.condition(False, 4.0)
    assert alarm.phase == "normal"
    # Cleared before anyone looked: still owed an acknowledgement.
    alarm = alarm.condition(True, 5.0).condition(False, 6.0)
    assert alarm.phase == "rtn_unacked"
    assert alarm.acknowledge("ann", 7.0).phase == "normal"
    assert {a for a, _ in LEGAL} == {"normal", "unacked", "acked", "rtn_unacked"}


def test_a_shelf_returns_by_itself_and_needs_a_reason_and_a_future_end() -> None:
    alarm = Alarm().condition(True, 1.0).shelve(100.0, " maintenance ", "ann", 10.0)
    assert alarm.shelved(50.0) and alarm.shelve_reason == "maintenance"
    assert not alarm.expire_shelf(100.0).shelved(100.0)
    assert alarm.expire_shelf(99.0) == alarm
    with pytest.raises(AlarmError, match="reason"):
        Alarm().shelve(100.0, "  ", "ann", 10.0)
    with pytest.raises(AlarmError, match="future"):
        Alarm().shelve(5.0, "x", "ann", 10.0)


@pytest.mark.parametrize(
    ("condition", "value", "present", "expected"),
    [
        ("lo", 9.9, False, True),
        ("lo", 10.0, False, False),
        ("lo", 11.9, True, True),  # still inside the band above the limit
        ("lo", 12.0, True, False),
        ("lolo", 5.0, False, True),
    ],
)
def test_low_limits_mirror_the_high_ones(
    condition: str, value: float, present: bool, expected: bool
) -> None:
    threshold = 10.0 if condition == "lo" else 6.0
    assert Limit(condition, threshold, BAND).beyond(value, present) is expected  # type: ignore[arg-type]
