"""Relay actions: boot, commands, locks, interlock trips, pulses, link loss, all to safe and
shutdown, in one place.

Everything here runs on the actuator worker, one action at a time, so relay actions keep
their order. It talks to the outside only through ``send`` (outgoing messages) and
``schedule`` (a later job), which the service wires to MQTT and the worker.

Safe-state drives (link loss, trips, all to safe, shutdown) go through ``_to_safe``: the
relays an interlock would trip because of the move go first, so that a heater is off before
the fan it needs stops. They act on locked relays too (docs/mqtt-contract.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from factory_core.command_expiry import expiry_problem
from factory_core.contract import (
    AllToSafeCommand,
    CommandResult,
    ContractModel,
    ErrorCode,
    InterlockRule,
    PayloadError,
    RelayState,
    Topics,
    decode_json,
)
from gateway.actuation_decision import (
    ApplyLock,
    Clocks,
    Execute,
    Reject,
    decide,
    decide_lock,
    salvage_id,
)
from gateway.command_log import CommandLog
from gateway.hardware.base import HardwareError
from gateway.interlock_decision import Interlocks, Trip
from gateway.relay_ledger import RelayLedger
from gateway.relays import Relay
from gateway.worker import Handle, Job

log = logging.getLogger(__name__)
audit = logging.getLogger("gateway.audit")


@dataclass(frozen=True, slots=True)
class Outbound:
    topic: str
    payload: ContractModel | bytes  # a DeviceState/RelayState gets its seq when it is sent
    qos: int = 1
    retain: bool = False
    correlation: bytes | None = None
    kind: str = ""  # the metrics label; by default from the payload's type


@dataclass(frozen=True, slots=True)
class IncomingCommand:
    topic: str
    relay_id: str
    payload: bytes
    mqtt_expires_at: float | None = None  # monotonic
    response_topic: str | None = None
    correlation: bytes | None = None
    received_at: float | None = None  # monotonic; for the command latency metric


Send = Callable[[Outbound], None]
Schedule = Callable[[float, Job], Handle]
# Told of every answered command: its outcome ("ok" or the error code) and, when the
# command says when it arrived, the seconds since then.
ObserveCommand = Callable[[str, float | None], None]
# Told of every command that moved a pin: seconds from its receipt to the pin read back.
ObserveActuation = Callable[[float], None]
WEAR_SAVE_DELAY_S = 5.0
# Reads one digital input (its logical value); raises HardwareError when it cannot.
ReadInput = Callable[[], bool]


class RelayController:
    def __init__(
        self,
        gateway_id: str,
        topics: Topics,
        relays: list[Relay],
        command_log: CommandLog,
        send: Send,
        schedule: Schedule,
        clock_skew_s: float,
        wall: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
        observe: ObserveCommand | None = None,
        *,
        ledger: RelayLedger | None = None,
        interlocks: Interlocks | None = None,
        inputs: Mapping[str, ReadInput] | None = None,
        observe_actuation: ObserveActuation | None = None,
    ) -> None:
        self.gateway_id = gateway_id
        self.topics = topics
        self.relays = {r.id: r for r in relays}
        self.ledger = ledger or RelayLedger(None)
        self.interlocks = interlocks or Interlocks(())
        self.inputs = dict(inputs or {})
        self.observe_actuation = observe_actuation
        self.command_log = command_log
        self.send = send
        self.schedule = schedule
        self.clock_skew_s = clock_skew_s
        self.wall = wall
        self.mono = mono
        self.observe = observe
        self._pulses: dict[str, Handle] = {}
        self._wear_save_due = False

    # ------------------------------------------------------------------ states

    def boot(self) -> None:
        for relay in self.relays.values():
            on = relay.setup()
            log.info("relay %s on pin %d at safe state: on=%s", relay.id, relay.config.pin, on)
            lock = self.ledger.locks.get(relay.id)
            if lock is not None:
                audit.warning("relay %s is still locked by %s: %s", relay.id, lock.by, lock.reason)

    def state_message(self, relay: Relay) -> Outbound | None:
        try:
            on = relay.read()
        except HardwareError as exc:
            log.error("cannot read relay %s back: %s", relay.id, exc)
            return None
        record = relay.record
        state = RelayState(
            on=on,
            ts=self.wall(),
            seq=0,
            cmd=record.cmd,
            reason=record.reason,
            rule=record.rule,
            lock=self.ledger.locks.get(relay.id),
            cycles=relay.wear.cycles,
            on_time_s=round(relay.wear.total_on_time(self.mono()), 3),
        )
        return Outbound(self.topics.relay_state(self.gateway_id, relay.id), state, retain=True)

    def publish_states(self) -> None:
        """Every state (a rebirth, the periodic republish), rules enforced first; the on-time
        saved soon after (never before the states: a rebirth must not wait for a disk)."""
        self.enforce_interlocks()
        for relay in self.relays.values():
            self._send_state(relay)
        self._wear_changed()

    def _send_state(self, relay: Relay) -> None:
        message = self.state_message(relay)
        if message is not None:
            self.send(message)

    # ---------------------------------------------------------------- commands

    def handle(self, incoming: IncomingCommand) -> None:
        relay = self.relays.get(incoming.relay_id)
        try:
            status = relay.status() if relay else None
        except HardwareError as exc:
            # A configured relay whose pin cannot be read: say so, not "unknown relay".
            log.error("cannot read relay %s before a command: %s", incoming.relay_id, exc)
            command_id = salvage_id(incoming.payload)
            if command_id is not None:
                self._answer(incoming, command_id, None, "hardware_error", str(exc))
            return
        if relay is not None and status is not None:
            status = dataclasses.replace(status, lock=self.ledger.locks.get(relay.id))
        # Pins are read for the interlocks only when there are rules to judge.
        relay_states, input_states = self._plant() if self.interlocks.rules else ({}, {})

        def interlock(on: bool) -> InterlockRule | None:
            return self.interlocks.refusal(incoming.relay_id, on, relay_states, input_states)

        decision = decide(
            incoming.topic,
            incoming.payload,
            rules=relay.rules if relay and status else None,
            status=status,
            clocks=Clocks(wall=self.wall(), mono=self.mono()),
            clock_skew_s=self.clock_skew_s,
            mqtt_expires_at=incoming.mqtt_expires_at,
            already_executed=self.command_log.__contains__,
            interlock=interlock,
        )
        if not isinstance(decision, Execute):
            self._reject(incoming, "command", decision, status.on if status else None)
            return
        assert relay is not None
        command = decision.command
        try:
            self.command_log.record(command.id)
        except OSError as exc:
            detail = f"cannot record command id in {self.command_log.path}: {exc.strerror}"
            log.error("relay %s: %s", relay.id, detail)
            self._answer(
                incoming, command.id, status.on if status else None, "hardware_error", detail
            )
            return
        self._cancel_pulse(relay.id)
        # Whatever needed this relay on goes to its safe state first (a trip).
        self._trip(self.interlocks.settle({**relay_states, relay.id: command.on}, input_states))
        try:
            on = relay.drive(command.on, cmd=command.id, reason="command")
        except HardwareError as exc:
            self._send_state(relay)
            self._answer(incoming, command.id, None, "hardware_error", str(exc))
            audit.error("relay %s: command %s failed: %s", relay.id, command.id, exc)
            return
        if self.observe_actuation is not None and incoming.received_at is not None:
            self.observe_actuation(self.mono() - incoming.received_at)
        # The state first: whoever gets the result can rely on the retained state already
        # saying so, and every dashboard learns the new state as early as the requester.
        self._send_state(relay)
        if on == command.on:
            self._answer(incoming, command.id, on, None, None)
            audit.info(
                "relay %s (%s) switched %s by %s, command %s",
                relay.id,
                relay.config.name,
                "on" if on else "off",
                command.by,
                command.id,
            )
        else:
            detail = f"commanded on={command.on} but pin {relay.config.pin} reads on={on}"
            self._answer(incoming, command.id, on, "readback_mismatch", detail)
            audit.error("relay %s: command %s by %s: %s", relay.id, command.id, command.by, detail)
        if on and command.on and relay.config.pulse_ms:
            self._start_pulse(relay, command.id)
        self.enforce_interlocks()  # a read-back that differs from the command may break one
        self._wear_changed()

    def handle_lock(self, incoming: IncomingCommand) -> None:
        """Lock or unlock a relay (lock-out / tag-out); the lock is saved before it is told."""
        relay = self.relays.get(incoming.relay_id)
        decision = decide_lock(
            incoming.topic,
            incoming.payload,
            current=self.ledger.locks.get(incoming.relay_id),
            known=relay is not None,
            clocks=Clocks(wall=self.wall(), mono=self.mono()),
            clock_skew_s=self.clock_skew_s,
            mqtt_expires_at=incoming.mqtt_expires_at,
            already_executed=self.command_log.__contains__,
        )
        on = self._read_or_none(relay)
        if not isinstance(decision, ApplyLock):
            self._reject(incoming, "lock command", decision, on)
            return
        assert relay is not None
        command = decision.command
        before = self.ledger.locks.get(relay.id)
        try:
            self.command_log.record(command.id)
            if decision.lock is None:
                self.ledger.locks.pop(relay.id, None)
            else:
                self.ledger.locks[relay.id] = decision.lock
            self.ledger.save(self.mono())
        except OSError as exc:
            if before is None:
                self.ledger.locks.pop(relay.id, None)
            else:
                self.ledger.locks[relay.id] = before
            detail = f"cannot record the lock in {self.ledger.path}: {exc.strerror}"
            log.error("relay %s: %s", relay.id, detail)
            self._answer(incoming, command.id, on, "hardware_error", detail)
            return
        self._send_state(relay)
        if decision.lock is not None:
            audit.warning(
                "relay %s (%s) locked at on=%s by %s: %s, command %s",
                relay.id,
                relay.config.name,
                on,
                command.by,
                decision.lock.reason,
                command.id,
            )
            detail = f"locked by {command.by}"
        else:
            who = f" (locked by {before.by})" if before is not None else " (was not locked)"
            audit.warning(
                "relay %s (%s) unlocked by %s (%s)%s, command %s",
                relay.id,
                relay.config.name,
                command.by,
                command.role,
                who,
                command.id,
            )
            detail = f"unlocked by {command.by}{who}"
        self._answer(incoming, command.id, on, None, detail)

    def handle_all_to_safe(self, incoming: IncomingCommand) -> None:
        """Every relay to its safe state, locked ones too; answered on the gateway's topic."""
        reply_topic = self.topics.all_to_safe_result(self.gateway_id)
        try:
            command: AllToSafeCommand = decode_json(
                incoming.topic, incoming.payload, AllToSafeCommand
            )
        except PayloadError as exc:
            command_id = salvage_id(incoming.payload)
            if command_id is not None:
                self._reply(incoming, reply_topic, command_id, "invalid", exc.reason)
            return
        problem: tuple[ErrorCode, str] | None = None
        if command.id in self.command_log:
            problem = "duplicate", f"command {command.id!r} was already executed"
        else:
            expired = expiry_problem(
                command.deadline,
                self.wall(),
                self.clock_skew_s,
                incoming.mqtt_expires_at,
                self.mono(),
            )
            if expired is not None:
                problem = "expired", expired
        if problem is not None:
            audit.warning("all to safe %s rejected: %s (%s)", command.id, *problem)
            self._reply(incoming, reply_topic, command.id, *problem)
            return
        try:
            self.command_log.record(command.id)
        except OSError as exc:
            detail = f"cannot record command id in {self.command_log.path}: {exc.strerror}"
            self._reply(incoming, reply_topic, command.id, "hardware_error", detail)
            return
        for relay in self.relays.values():
            self._cancel_pulse(relay.id)
        moved, failed = self._to_safe(
            self.relays.values(), "all_to_safe", cmd=command.id, why=f"all to safe by {command.by}"
        )
        audit.warning(
            "all to safe by %s, command %s: moved %s; failed %s",
            command.by,
            command.id,
            ", ".join(moved) or "none",
            ", ".join(failed) or "none",
        )
        if failed:
            detail = f"could not drive {', '.join(failed)} to its safe state"
            self._reply(incoming, reply_topic, command.id, "hardware_error", detail)
        else:
            detail = f"every relay at its safe state; moved: {', '.join(moved) or 'none'}"
            self._reply(incoming, reply_topic, command.id, None, detail)

    # -------------------------------------------------------------- interlocks

    def _plant(self) -> tuple[dict[str, bool], dict[str, bool | None]]:
        """Every relay's read-back (unreadable ones left out) and every input's value."""
        relays: dict[str, bool] = {}
        for relay in self.relays.values():
            with contextlib.suppress(HardwareError):
                relays[relay.id] = relay.read()
        inputs: dict[str, bool | None] = {}
        for input_id, read in self.inputs.items():
            try:
                inputs[input_id] = read()
            except HardwareError:
                inputs[input_id] = None
        return relays, inputs

    def enforce_interlocks(self) -> None:
        """Trip every relay that is on against a rule (an input changed, a relay failed)."""
        if self.interlocks.rules:
            self._trip(self.interlocks.settle(*self._plant()))

    def _trip(self, trips: Iterable[Trip]) -> None:
        trips = list(trips)
        if not trips:
            return
        for trip in trips:
            relay = self.relays[trip.relay]
            self._cancel_pulse(relay.id)
            try:
                on = relay.drive(
                    relay.config.safe_state, cmd=None, reason="trip", rule=trip.rule.id
                )
            except HardwareError as exc:
                audit.error("relay %s: cannot trip to safe state: %s", relay.id, exc)
                continue
            audit.warning(
                "relay %s (%s) tripped to safe state (on=%s): interlock %s: %s",
                relay.id,
                relay.config.name,
                on,
                trip.rule.id,
                trip.rule.describe(),
            )
            self._send_state(relay)
        self._wear_changed()

    def _to_safe(
        self,
        relays: Iterable[Relay],
        reason: str,
        cmd: str | None = None,
        *,
        drive_if_safe: bool = False,
        why: str | None = None,
    ) -> tuple[list[str], list[str]]:
        """Drive ``relays`` to their safe state, whatever their lock says: first the relays an
        interlock would trip because of the move, then those going off, then those going on.
        Returns the ids moved and the ids that could not be driven. ``drive_if_safe``: drive
        (and publish) also those already there (shutdown says so for each)."""
        relays = list(relays)
        states, inputs = self._plant()
        targets = {r.id: r.config.safe_state for r in relays}
        self._trip(self.interlocks.settle({**states, **targets}, inputs))
        moved: list[str] = []
        failed: list[str] = []
        order = self.interlocks.off_order
        for relay in sorted(relays, key=lambda r: (r.config.safe_state, order(r.id))):
            try:
                if relay.read() == relay.config.safe_state and not drive_if_safe:
                    continue
                on = relay.drive(relay.config.safe_state, cmd=cmd, reason=reason)
            except HardwareError as exc:
                audit.error("relay %s: cannot drive to safe state (%s): %s", relay.id, reason, exc)
                failed.append(relay.id)
                continue
            # Audited as each relay moves: the record of a move is there when the pin is.
            audit.warning("relay %s: %s, driven to safe state (on=%s)", relay.id, why or reason, on)
            if on == relay.config.safe_state:
                moved.append(relay.id)
            else:
                failed.append(relay.id)
            self._send_state(relay)
        self._save_ledger()
        self.enforce_interlocks()
        return moved, failed

    def _wear_changed(self) -> None:
        """Save the wear soon, once for a burst of switches: an fsync per command would delay
        the next command of a burst by a few ms (measured). A crash loses at most the last
        ``WEAR_SAVE_DELAY_S`` of counts; a stop, a republish and every lock change save at
        once."""
        if self._wear_save_due or self.ledger.path is None:
            return
        self._wear_save_due = True

        def save() -> None:
            self._wear_save_due = False
            self._save_ledger()

        self.schedule(WEAR_SAVE_DELAY_S, save)

    def _save_ledger(self) -> None:
        try:
            self.ledger.save(self.mono())
        except OSError as exc:  # wear is no safety matter: said, never a refusal
            log.error("cannot save relay wear to %s: %s", self.ledger.path, exc.strerror)

    def _read_or_none(self, relay: Relay | None) -> bool | None:
        if relay is None:
            return None
        try:
            return relay.read()
        except HardwareError:
            return None

    def _reject(
        self, incoming: IncomingCommand, what: str, decision: Reject, on: bool | None
    ) -> None:
        """Audit a refused relay or lock command and answer it, if it carried an id."""
        audit.warning(
            "relay %s: %s %s rejected: %s (%s)",
            incoming.relay_id,
            what,
            decision.command_id or "(no id)",
            decision.error,
            decision.detail,
        )
        if decision.command_id is not None:
            self._answer(incoming, decision.command_id, on, decision.error, decision.detail)

    def _answer(
        self,
        incoming: IncomingCommand,
        command_id: str,
        on: bool | None,
        error: ErrorCode | None,
        detail: str | None,
    ) -> None:
        topic = self.topics.relay_result(self.gateway_id, incoming.relay_id)
        self._reply(incoming, topic, command_id, error, detail, on)

    def _reply(
        self,
        incoming: IncomingCommand,
        topic: str,
        command_id: str,
        error: ErrorCode | None,
        detail: str | None,
        on: bool | None = None,
    ) -> None:
        result = CommandResult(id=command_id, ok=error is None, on=on, error=error, detail=detail)
        if self.observe is not None:  # before the answer, so whoever sees it sees it counted
            since = incoming.received_at
            self.observe(error or "ok", None if since is None else self.mono() - since)
        self.send(Outbound(topic, result))
        if incoming.response_topic:
            self.send(Outbound(incoming.response_topic, result, correlation=incoming.correlation))

    # ------------------------------------------------------------------ pulses

    def _start_pulse(self, relay: Relay, command_id: str) -> None:
        assert relay.config.pulse_ms is not None

        def end() -> None:
            self._pulses.pop(relay.id, None)
            try:
                on = relay.drive(False, cmd=command_id, reason="pulse_end")
            except HardwareError as exc:
                audit.error("relay %s: pulse end failed: %s", relay.id, exc)
                return
            audit.info("relay %s: pulse of command %s ended, on=%s", relay.id, command_id, on)
            self._send_state(relay)

        self._pulses[relay.id] = self.schedule(relay.config.pulse_ms / 1000, end)

    def _cancel_pulse(self, relay_id: str) -> None:
        handle = self._pulses.pop(relay_id, None)
        if handle is not None:
            handle.cancel()

    # --------------------------------------------------------- link loss, stop

    def link_lost(self, down_for_s: float) -> list[str]:
        """Drive every relay whose policy is ``safe`` to its safe state; the ids moved."""
        safe = []
        for relay in self.relays.values():
            if relay.config.on_link_loss != "safe":
                # Logged too: after an outage the operator must see that it was a decision.
                audit.warning(
                    "relay %s: control link down for %.1f s, holds its state (policy hold)",
                    relay.id,
                    down_for_s,
                )
                continue
            self._cancel_pulse(relay.id)
            safe.append(relay)
        why = f"control link down for {down_for_s:.1f} s"
        moved, _failed = self._to_safe(safe, "link_loss", why=why)
        # Their states are dropped while offline and republished on reconnect.
        return moved

    def shutdown(self) -> None:
        safe = []
        for relay in self.relays.values():
            self._cancel_pulse(relay.id)
            if relay.config.on_shutdown != "safe":
                log.info("relay %s holds its state over shutdown", relay.id)
                continue
            safe.append(relay)
        moved, _failed = self._to_safe(safe, "shutdown", drive_if_safe=True)
        audit.info("shutdown: relays driven to safe state: %s", ", ".join(moved) or "none")
        self._save_ledger()
