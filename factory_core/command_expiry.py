"""When a relay command may still run: the one expiry rule, for senders and gateways alike.

A command expires by two clocks (docs/mqtt-contract.md, "Relay commands"):

* its ``deadline``, Unix time in the payload: a gateway refuses it once its own wall clock is
  more than its clock-skew allowance past the deadline;
* an MQTT 5 message expiry interval, whole seconds rounded up so that the deadline stays the
  decisive one: the broker drops the command undelivered after that long, and a gateway that
  took that long to get round to it (by its monotonic clock) refuses it.

A sender waits for the result until the deadline plus a grace of at least the gateways' skew
allowance: until then the command may still run, and "timeout" would be a lie the relay could
contradict. Pure: every clock is passed in.
"""

from __future__ import annotations

import math


def deadline_after(now: float, ttl: float) -> float:
    """The deadline of a command sent at Unix time ``now`` that must run within ``ttl`` s."""
    return now + ttl


def message_expiry_interval(ttl: float) -> int:
    """The MQTT 5 message expiry interval for a command with ``ttl`` seconds to run."""
    return max(1, math.ceil(ttl))


def expires_at(interval: object, received_mono: float) -> float | None:
    """Monotonic time after which a command received with ``interval`` must not run."""
    return received_mono + interval if isinstance(interval, int) else None


def result_wait(ttl: float, grace: float) -> float:
    """How long a sender waits for a result before it may say "timeout"."""
    return ttl + grace


def expiry_problem(
    deadline: float,
    wall: float,
    clock_skew_s: float,
    mqtt_expires_at: float | None,
    mono: float,
) -> str | None:
    """Why the command must not run now (its ``expired`` detail), or None when it may."""
    late = wall - deadline
    if late > clock_skew_s:
        return (
            f"deadline {deadline:.3f} passed {late:.3f} s ago "
            f"(clock skew allowance {clock_skew_s} s)"
        )
    if mqtt_expires_at is not None and mono > mqtt_expires_at:
        return "MQTT message expiry interval elapsed"
    return None
