"""The one expiry rule of relay commands (factory_core.command_expiry), without sockets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from factory_core.command_expiry import (
    deadline_after,
    expires_at,
    expiry_problem,
    message_expiry_interval,
    result_wait,
)

seconds = st.floats(min_value=0.001, max_value=3600, allow_nan=False)


@given(now=st.floats(min_value=0, max_value=4e9), ttl=seconds, skew=st.floats(0, 30))
def test_a_command_runs_until_its_deadline_plus_the_skew_allowance_and_never_after(
    now: float, ttl: float, skew: float
) -> None:
    deadline = deadline_after(now, ttl)
    interval = message_expiry_interval(ttl)
    received = expires_at(interval, 100.0)
    # Delivered at once: it may run.
    assert expiry_problem(deadline, now, skew, received, 100.0) is None
    # The gateway's clock past deadline + skew: refused, and the detail says why.
    late = expiry_problem(deadline, deadline + skew + 0.01, skew, received, 100.0)
    assert late is not None and "deadline" in late and "skew" in late
    # Held by the broker or the gateway past the MQTT expiry: refused too.
    assert received is not None
    held = expiry_problem(deadline, now, skew, received, received + 0.01)
    assert held == "MQTT message expiry interval elapsed"


@given(ttl=seconds)
def test_the_mqtt_expiry_never_cuts_a_command_short_of_its_deadline(ttl: float) -> None:
    interval = message_expiry_interval(ttl)
    assert isinstance(interval, int) and interval >= ttl and interval >= 1


@given(ttl=seconds, grace=st.floats(0, 30))
def test_a_sender_waits_at_least_as_long_as_the_command_may_run(ttl: float, grace: float) -> None:
    assert result_wait(ttl, grace) >= ttl + grace


def test_a_command_without_mqtt_expiry_is_judged_by_its_deadline_alone() -> None:
    assert expires_at(None, 5.0) is None
    assert expires_at("60", 5.0) is None  # a malformed property is no expiry, not a crash
    assert expiry_problem(100.0, 100.5, 1.0, None, 1e9) is None
