"""The alarms of one gateway's devices (pure: time is passed in, nothing is sent from here).

Built from the config's ``[sensors.alarms]`` and ``[inputs.alarm]``; fed every reading and
every operator command; answers with the alarm states to publish (retained). The component in
``gateway.alarming`` does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

from factory_core.alarms import LIMITS, Alarm, AlarmError, Condition, Detector, Limit, Priority
from factory_core.contract import AlarmCommand, AlarmState, ErrorCode
from gateway.config import GatewayConfig

Key = tuple[str, Condition]  # (device id, condition)
Value = float | bool | None
# Fields of an alarm that an operator changed: kept across a restart of the gateway.
DURABLE: Final = ("acked", "acked_by", "acked_at", "shelved_until", "shelved_by", "shelve_reason")


@dataclass(frozen=True, slots=True)
class AlarmDef:
    source: str
    condition: Condition
    priority: Priority
    on_delay_s: float = 0.0
    limit: Limit | None = None  # analog limits
    alarm_state: bool | None = None  # a digital input's abnormal value
    name: str = ""

    def raw(self, value: Value, quality: str, present: bool) -> bool | None:
        """Whether the raw condition holds for this reading; None: the reading says nothing
        about it (a limit while the sensor cannot be read keeps its last judgement)."""
        if self.condition == "bad_quality":
            return quality == "bad"
        if value is None or quality != "good":
            return None
        if self.limit is not None and not isinstance(value, bool):
            return self.limit.beyond(float(value), present)
        if self.alarm_state is not None:
            return value is self.alarm_state
        return None

    def message(self) -> str:
        if self.limit is not None:
            side = "above" if self.limit.upper else "below"
            return f"{self.name}: {self.condition} ({side} {self.limit.threshold:g})"
        if self.condition == "bad_quality":
            return f"{self.name}: cannot be read"
        if self.condition == "readback_mismatch":
            return f"{self.name}: did not follow its command"
        if self.condition == "command_failed":
            return f"{self.name}: command failed"
        return f"{self.name}: {self.alarm_state}"


@dataclass(slots=True)
class _Entry:
    definition: AlarmDef
    detector: Detector
    alarm: Alarm
    raw: bool | None = None
    value: Value = None  # at the last transition
    last: Value = None  # the latest reading


def definitions(config: GatewayConfig) -> list[AlarmDef]:
    defs: list[AlarmDef] = []
    for sensor in config.sensors:
        alarms = sensor.alarms
        if alarms is None:
            continue
        for condition in LIMITS:
            threshold = getattr(alarms, condition)
            if threshold is not None:
                defs.append(
                    AlarmDef(
                        sensor.id,
                        condition,
                        getattr(alarms.priorities, condition),
                        alarms.on_delay_s,
                        Limit(condition, float(threshold), alarms.deadband),
                        name=sensor.name,
                    )
                )
        if alarms.bad_quality is not None:
            defs.append(AlarmDef(sensor.id, "bad_quality", alarms.bad_quality, name=sensor.name))
    for relay in config.relays:
        for condition, priority in (
            ("readback_mismatch", relay.readback_alarm),
            ("command_failed", relay.failure_alarm),
        ):
            if priority is not None:
                defs.append(AlarmDef(relay.id, condition, priority, name=relay.name))
    for digital in config.inputs:
        if digital.alarm is not None:
            a = digital.alarm
            defs.append(
                AlarmDef(
                    digital.id,
                    "state",
                    a.priority,
                    a.on_delay_s,
                    alarm_state=a.state,
                    name=digital.name,
                )
            )
    return defs


class AlarmCommandError(Exception):
    def __init__(self, error: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


class AlarmBook:
    def __init__(self, defs: list[AlarmDef]) -> None:
        self._entries: dict[Key, _Entry] = {
            (d.source, d.condition): _Entry(d, Detector(d.on_delay_s), Alarm()) for d in defs
        }
        self._by_source: dict[str, list[Key]] = {}
        for k in self._entries:
            self._by_source.setdefault(k[0], []).append(k)

    def __len__(self) -> int:
        return len(self._entries)

    def alarm_keys(self) -> list[Key]:
        return list(self._entries)

    def reading(self, source: str, value: Value, quality: str, now: float) -> list[Key]:
        """A device's new reading; the keys of the alarms whose state changed."""
        changed: list[Key] = []
        for k in self._by_source.get(source, ()):
            entry = self._entries[k]
            raw = entry.definition.raw(value, quality, entry.detector.present)
            if raw is None:
                continue
            entry.raw, entry.last = raw, value
            if self._evaluate(entry, now, value):
                changed.append(k)
        return changed

    def relay_result(self, relay: str, error: str | None, now: float) -> list[Key]:
        """A relay command's outcome: a mismatch or a hardware error raises its alarm, a
        success clears both; the command's own faults (expired, too soon...) say nothing."""
        changed: list[Key] = []
        for k in self._by_source.get(relay, ()):
            if k[1] not in ("readback_mismatch", "command_failed"):
                continue  # a device may have the relay's id
            entry = self._entries[k]
            if error is None:
                raw = False
            elif (k[1] == "readback_mismatch" and error == "readback_mismatch") or (
                k[1] == "command_failed" and error == "hardware_error"
            ):
                raw = True
            else:
                continue
            entry.raw = raw
            if self._evaluate(entry, now, None):
                changed.append(k)
        return changed

    def tick(self, now: float) -> list[Key]:
        """On-delays that ran out since the last reading, shelves that ended."""
        changed: list[Key] = []
        for k, entry in self._entries.items():
            moved = entry.raw is True and not entry.detector.present
            if moved and self._evaluate(entry, now, entry.last):
                changed.append(k)
            expired = entry.alarm.expire_shelf(now)
            if expired != entry.alarm:
                entry.alarm = expired
                if k not in changed:
                    changed.append(k)
        return changed

    def command(self, source: str, condition: str, command: AlarmCommand, now: float) -> None:
        """Apply an operator's command; raise AlarmCommandError naming what was wrong."""
        entry = self._entries.get((source, condition))  # type: ignore[arg-type]
        if entry is None:
            raise AlarmCommandError("unknown_alarm", f"no alarm {condition!r} on {source!r}")
        alarm = entry.alarm
        try:
            if command.action == "acknowledge":
                entry.alarm = alarm.acknowledge(command.by, now)
            elif command.action == "shelve":
                if command.until is None or command.reason is None:
                    raise AlarmError("shelve needs both 'until' and 'reason'")
                entry.alarm = alarm.shelve(command.until, command.reason, command.by, now)
            else:
                entry.alarm = alarm.unshelve()
        except AlarmError as exc:
            raise AlarmCommandError("invalid", str(exc)) from None

    def state(self, k: Key, now: float) -> AlarmState:
        entry = self._entries[k]
        d, a = entry.definition, entry.alarm
        return AlarmState(
            priority=d.priority,
            active=a.active,
            acked=a.acked,
            state=a.phase,
            since=a.since if a.since is not None else now,
            raised=a.raised,
            value=entry.value,
            limit=d.limit.threshold if d.limit is not None else None,
            message=d.message(),
            acked_by=a.acked_by,
            acked_at=a.acked_at,
            shelved_until=a.shelved_until,
            shelved_by=a.shelved_by,
            shelve_reason=a.shelve_reason,
            ts=now,
        )

    # Across restarts --------------------------------------------------------

    def durable(self) -> dict[str, dict[str, Any]]:
        """What operators did and what was active, keyed ``source/condition`` (JSON-ready)."""
        out: dict[str, dict[str, Any]] = {}
        for (source, condition), entry in self._entries.items():
            a = entry.alarm
            fields = {f: getattr(a, f) for f in DURABLE}
            out[f"{source}/{condition}"] = {
                **fields, "active": a.active, "since": a.since, "raised": a.raised,
            }  # fmt: skip
        return out

    def restore(self, saved: dict[str, Any]) -> None:
        """Take back what ``durable`` returned before a restart; unknown alarms are ignored.

        The detectors start afresh: the next reading decides again whether the condition is
        present, so an alarm that cleared while the gateway was down does not stay raised.
        """
        for name, fields in saved.items():
            source, _, condition = name.partition("/")
            entry = self._entries.get((source, condition))  # type: ignore[arg-type]
            if entry is None or not isinstance(fields, dict):
                continue
            try:
                entry.alarm = replace(Alarm(), **{k: fields[k] for k in fields if k in _FIELDS})
            except TypeError:
                continue
            entry.detector = replace(entry.detector, present=entry.alarm.active)

    # Internals --------------------------------------------------------------

    def _evaluate(self, entry: _Entry, now: float, value: Value) -> bool:
        entry.detector = entry.detector.offer(bool(entry.raw), now)
        alarm = entry.alarm.condition(entry.detector.present, now)
        if alarm == entry.alarm:
            return False
        entry.alarm, entry.value = alarm, value
        return True


_FIELDS: Final = frozenset((*DURABLE, "active", "since", "raised"))
