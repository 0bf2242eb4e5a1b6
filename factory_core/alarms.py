"""The alarm lifecycle of ISA-18.2 / IEC 62682, scaled to this system (pure: time is passed in).

Two parts, both without I/O:

* **Detection** (``Detector``): is the abnormal condition present? A limit is crossed when the
  value goes beyond it; it is left only when the value is back by more than the deadband
  (no chattering around a limit); the alarm is raised only once the condition has held for
  the on-delay.
* **Lifecycle** (``Alarm`` and its transitions): normal -> active unacknowledged -> active
  acknowledged -> normal, and active unacknowledged -> cleared unacknowledged -> normal (or
  back to active). Shelving hides an alarm for a set time and it returns by itself; out of
  service silences a device's alarms until an operator returns it.

The gateway runs both for its own devices; the bridge runs the lifecycle (without detection)
for the alarms it derives about gateways. docs/mqtt-contract.md, "Alarms", is the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal, TypeAlias

Priority: TypeAlias = Literal["critical", "high", "medium", "low"]
PRIORITIES: Final[tuple[Priority, ...]] = ("critical", "high", "medium", "low")
# What an alarm is about. Limits of an analog device; ``state``: a digital input in its
# alarming state; ``bad_quality``: the device cannot be read; ``readback_mismatch`` and
# ``command_failed``: a relay; ``offline`` and ``silent``: a gateway (raised by bridges).
Condition: TypeAlias = Literal[
    "lolo",
    "lo",
    "hi",
    "hihi",
    "state",
    "bad_quality",
    "readback_mismatch",
    "command_failed",
    "offline",
    "silent",
]
LIMITS: Final[tuple[Condition, ...]] = ("lolo", "lo", "hi", "hihi")
GATEWAY_CONDITIONS: Final[tuple[Condition, ...]] = ("offline", "silent")
# The ISA-18.2 states of an alarm that is in service and not shelved.
Phase: TypeAlias = Literal["normal", "unacked", "acked", "rtn_unacked"]
LEGAL: Final[frozenset[tuple[Phase, Phase]]] = frozenset(
    {
        ("normal", "unacked"),  # the condition arrived (after its on-delay)
        ("unacked", "acked"),  # an operator acknowledged it
        ("unacked", "rtn_unacked"),  # the condition left before anyone acknowledged it
        ("acked", "normal"),  # acknowledged, and now the condition has left
        ("rtn_unacked", "normal"),  # acknowledged after the condition left
        ("rtn_unacked", "unacked"),  # back before anyone acknowledged it
    }
)


class AlarmError(ValueError):
    """An operation that does not apply to this alarm (named in the message)."""


# --------------------------------------------------------------------------- detection


@dataclass(frozen=True, slots=True)
class Limit:
    """One analog limit: above it for ``hi``/``hihi``, below it for ``lo``/``lolo``."""

    condition: Condition
    threshold: float
    deadband: float = 0.0

    @property
    def upper(self) -> bool:
        return self.condition in ("hi", "hihi")

    def beyond(self, value: float, present: bool) -> bool:
        """Whether the value is in alarm, given whether the condition is present now.

        To enter, the value must cross the limit; to leave, it must come back by more than
        the deadband: a value wandering inside the band never flips the condition.
        """
        if self.upper:
            return value > self.threshold - self.deadband if present else value > self.threshold
        return value < self.threshold + self.deadband if present else value < self.threshold


@dataclass(frozen=True, slots=True)
class Detector:
    """Whether a condition is present, with its on-delay: ``pending_since`` is when the raw
    condition last started to hold (None while it does not)."""

    on_delay_s: float = 0.0
    present: bool = False
    pending_since: float | None = None

    def offer(self, raw: bool, now: float) -> Detector:
        """The detector after one observation of the raw condition at ``now``."""
        if not raw:
            return replace(self, present=False, pending_since=None)
        since = self.pending_since if self.pending_since is not None else now
        present = self.present or now - since >= self.on_delay_s
        return replace(self, present=present, pending_since=since)


# --------------------------------------------------------------------------- lifecycle


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm's lifecycle; every transition returns a new ``Alarm``."""

    active: bool = False
    acked: bool = True  # normal counts as acknowledged: nothing is owed
    since: float | None = None  # when the current phase began
    raised: float | None = None  # when the condition last arrived
    acked_by: str | None = None
    acked_at: float | None = None
    shelved_until: float | None = None
    shelved_by: str | None = None
    shelve_reason: str | None = None

    @property
    def phase(self) -> Phase:
        if self.active:
            return "acked" if self.acked else "unacked"
        return "normal" if self.acked else "rtn_unacked"

    def shelved(self, now: float) -> bool:
        return self.shelved_until is not None and now < self.shelved_until

    def condition(self, present: bool, now: float) -> Alarm:
        """The condition is (still, no longer, newly) present."""
        if present == self.active:
            return self
        if present:
            return replace(
                self, active=True, acked=False, since=now, raised=now, acked_by=None, acked_at=None
            )
        return replace(self, active=False, since=now)

    def acknowledge(self, by: str, now: float) -> Alarm:
        """An operator has seen it. Repeats are harmless: a second one changes nothing."""
        if self.acked:
            return self
        return replace(self, acked=True, acked_by=by, acked_at=now, since=now)

    def shelve(self, until: float, reason: str, by: str, now: float) -> Alarm:
        if until <= now:
            raise AlarmError(f"a shelf must end in the future (until {until} is not after {now})")
        if not reason.strip():
            raise AlarmError("shelving needs a reason")
        return replace(self, shelved_until=until, shelved_by=by, shelve_reason=reason.strip())

    def unshelve(self) -> Alarm:
        return replace(self, shelved_until=None, shelved_by=None, shelve_reason=None)

    def expire_shelf(self, now: float) -> Alarm:
        """The shelf has run out: the alarm returns by itself, in whatever phase it is."""
        if self.shelved_until is not None and now >= self.shelved_until:
            return self.unshelve()
        return self


def legal(before: Phase, after: Phase) -> bool:
    return before == after or (before, after) in LEGAL
