"""The actuation decision, pure: may this relay command move a pin, or which error answers it.

The caller supplies what it knows (the relay's rules, lock and state, the clocks, whether the
id was executed before, what the interlocks say); :func:`decide` says whether a pin may move,
or which error to answer; :func:`decide_lock` does the same for a lock or unlock.

Precedence (docs/mqtt-contract.md, "Which rule wins"): a malformed, unknown, duplicate or
expired command is refused first; then a lock refuses every command; then an interlock
refuses a command that would break it; then the minimum switching interval. A relay's
safe-state drive (link loss, trip, all to safe, shutdown) is no command and passes none of
these: it acts on a locked relay too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from factory_core.command_expiry import expiry_problem
from factory_core.contract import (
    COMMAND_ID_PATTERN,
    ErrorCode,
    InterlockRule,
    LockCommand,
    PayloadError,
    RelayCommand,
    RelayLock,
    decode_json,
)

_COMMAND_ID_RE = re.compile(COMMAND_ID_PATTERN)


@dataclass(frozen=True, slots=True)
class RelayRules:
    min_interval_s: float = 0.0


@dataclass(frozen=True, slots=True)
class RelayStatus:
    on: bool
    last_change: float | None  # monotonic time of the last switch, None if never switched
    lock: RelayLock | None = None


# Which interlock rule switching the relay to ``on`` would break, if any.
InterlockCheck = Callable[[bool], InterlockRule | None]


def describe_lock(lock: RelayLock) -> str:
    since = datetime.fromtimestamp(lock.since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"locked by {lock.by} since {since}: {lock.reason}"


@dataclass(frozen=True, slots=True)
class Execute:
    command: RelayCommand


@dataclass(frozen=True, slots=True)
class Reject:
    command_id: str | None  # None when the payload carried no usable id: nobody to answer
    error: ErrorCode
    detail: str


Decision = Execute | Reject


@dataclass(frozen=True, slots=True)
class Clocks:
    wall: float  # Unix time, compared with the command's deadline
    mono: float  # monotonic time, compared with MQTT expiry and switch intervals


def salvage_id(payload: bytes) -> str | None:
    """The id of a malformed command, when there is a well-formed one to answer to."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    cid = data.get("id") if isinstance(data, dict) else None
    return cid if isinstance(cid, str) and _COMMAND_ID_RE.fullmatch(cid) else None


def decide(
    topic: str,
    payload: bytes,
    *,
    rules: RelayRules | None,
    status: RelayStatus | None,
    clocks: Clocks,
    clock_skew_s: float,
    mqtt_expires_at: float | None,
    already_executed: Callable[[str], bool],
    interlock: InterlockCheck = lambda _on: None,
) -> Decision:
    """``rules``/``status`` are None for a relay this gateway does not have."""
    try:
        command: RelayCommand = decode_json(topic, payload, RelayCommand)
    except PayloadError as exc:
        return Reject(salvage_id(payload), "invalid", exc.reason)
    if rules is None or status is None:
        return Reject(command.id, "unknown_relay", f"no relay on topic {topic!r}")
    if already_executed(command.id):
        return Reject(command.id, "duplicate", f"command {command.id!r} was already executed")
    expired = expiry_problem(
        command.deadline, clocks.wall, clock_skew_s, mqtt_expires_at, clocks.mono
    )
    if expired is not None:
        return Reject(command.id, "expired", expired)
    if status.lock is not None:
        return Reject(command.id, "locked", describe_lock(status.lock))
    broken = interlock(command.on)
    if broken is not None:
        return Reject(command.id, "interlocked", f"interlock {broken.id}: {broken.describe()}")
    if command.on != status.on and status.last_change is not None and rules.min_interval_s > 0:
        since = clocks.mono - status.last_change
        if since < rules.min_interval_s:
            return Reject(
                command.id,
                "too_soon",
                f"last switched {since:.3f} s ago, minimum is {rules.min_interval_s} s",
            )
    return Execute(command)


@dataclass(frozen=True, slots=True)
class ApplyLock:
    command: LockCommand
    lock: RelayLock | None  # the relay's lock after the command: None when unlocked


LockDecision = ApplyLock | Reject


def decide_lock(
    topic: str,
    payload: bytes,
    *,
    current: RelayLock | None,
    known: bool,
    clocks: Clocks,
    clock_skew_s: float,
    mqtt_expires_at: float | None,
    already_executed: Callable[[str], bool],
) -> LockDecision:
    """Lock a relay (with a reason, if nobody has) or unlock it (its locker or an admin)."""
    try:
        command: LockCommand = decode_json(topic, payload, LockCommand)
    except PayloadError as exc:
        return Reject(salvage_id(payload), "invalid", exc.reason)
    if not known:
        return Reject(command.id, "unknown_relay", f"no relay on topic {topic!r}")
    if already_executed(command.id):
        return Reject(command.id, "duplicate", f"command {command.id!r} was already executed")
    expired = expiry_problem(
        command.deadline, clocks.wall, clock_skew_s, mqtt_expires_at, clocks.mono
    )
    if expired is not None:
        return Reject(command.id, "expired", expired)
    if command.lock:
        if current is not None:
            return Reject(command.id, "locked", f"already {describe_lock(current)}")
        if command.reason is None or not command.reason.strip():
            return Reject(command.id, "invalid", "reason: a lock needs a reason")
        return ApplyLock(
            command, RelayLock(by=command.by, reason=command.reason, since=clocks.wall)
        )
    if current is not None and current.by != command.by and command.role != "admin":
        return Reject(
            command.id,
            "forbidden",
            f"{describe_lock(current)}; only {current.by} or an admin may unlock it",
        )
    return ApplyLock(command, None)
