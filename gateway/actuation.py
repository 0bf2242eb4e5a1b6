"""Relay actions: boot, commands, pulses, link loss and shutdown, in one place.

Everything here runs on the actuator worker, one action at a time, so relay actions keep
their order. It talks to the outside only through ``send`` (outgoing messages) and
``schedule`` (a later job), which the service wires to MQTT and the worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from factory_core.contract import CommandResult, ContractModel, ErrorCode, RelayState, Topics
from gateway.actuation_decision import Clocks, Execute, decide, salvage_id
from gateway.command_log import CommandLog
from gateway.hardware.base import HardwareError
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
    ) -> None:
        self.gateway_id = gateway_id
        self.topics = topics
        self.relays = {r.id: r for r in relays}
        self.command_log = command_log
        self.send = send
        self.schedule = schedule
        self.clock_skew_s = clock_skew_s
        self.wall = wall
        self.mono = mono
        self.observe = observe
        self._pulses: dict[str, Handle] = {}

    # ------------------------------------------------------------------ states

    def boot(self) -> None:
        for relay in self.relays.values():
            on = relay.setup()
            log.info("relay %s on pin %d at safe state: on=%s", relay.id, relay.config.pin, on)

    def state_message(self, relay: Relay) -> Outbound | None:
        try:
            on = relay.read()
        except HardwareError as exc:
            log.error("cannot read relay %s back: %s", relay.id, exc)
            return None
        state = RelayState(
            on=on, ts=self.wall(), seq=0, cmd=relay.record.cmd, reason=relay.record.reason
        )
        return Outbound(self.topics.relay_state(self.gateway_id, relay.id), state, retain=True)

    def publish_states(self) -> None:
        for relay in self.relays.values():
            self._send_state(relay)

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
        decision = decide(
            incoming.topic,
            incoming.payload,
            rules=relay.rules if relay and status else None,
            status=status,
            clocks=Clocks(wall=self.wall(), mono=self.mono()),
            clock_skew_s=self.clock_skew_s,
            mqtt_expires_at=incoming.mqtt_expires_at,
            already_executed=self.command_log.__contains__,
        )
        if not isinstance(decision, Execute):
            on = status.on if status else None
            audit.warning(
                "relay %s: command %s rejected: %s (%s)",
                incoming.relay_id,
                decision.command_id or "(no id)",
                decision.error,
                decision.detail,
            )
            if decision.command_id is not None:
                self._answer(incoming, decision.command_id, on, decision.error, decision.detail)
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
        try:
            on = relay.drive(command.on, cmd=command.id, reason="command")
        except HardwareError as exc:
            self._send_state(relay)
            self._answer(incoming, command.id, None, "hardware_error", str(exc))
            audit.error("relay %s: command %s failed: %s", relay.id, command.id, exc)
            return
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

    def _answer(
        self,
        incoming: IncomingCommand,
        command_id: str,
        on: bool | None,
        error: ErrorCode | None,
        detail: str | None,
    ) -> None:
        result = CommandResult(id=command_id, ok=error is None, on=on, error=error, detail=detail)
        if self.observe is not None:  # before the answer, so whoever sees it sees it counted
            since = incoming.received_at
            self.observe(error or "ok", None if since is None else self.mono() - since)
        self.send(Outbound(self.topics.relay_result(self.gateway_id, incoming.relay_id), result))
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
        moved = []
        for relay in self.relays.values():
            if relay.config.on_link_loss != "safe":
                # Logged too: after an outage the operator must see that it was a decision.
                audit.warning(
                    "relay %s: control link down for %.1f s, holds its state (policy hold)",
                    relay.id,
                    down_for_s,
                )
                continue
            try:
                if relay.read() == relay.config.safe_state:
                    continue
                self._cancel_pulse(relay.id)
                on = relay.drive(relay.config.safe_state, cmd=None, reason="link_loss")
            except HardwareError as exc:
                audit.error("relay %s: cannot apply link-loss policy: %s", relay.id, exc)
                continue
            moved.append(relay.id)
            audit.warning(
                "relay %s: control link down for %.1f s, driven to safe state (on=%s)",
                relay.id,
                down_for_s,
                on,
            )
            self._send_state(relay)  # dropped while offline; republished on reconnect
        return moved

    def shutdown(self) -> None:
        for relay in self.relays.values():
            self._cancel_pulse(relay.id)
            if relay.config.on_shutdown != "safe":
                log.info("relay %s holds its state over shutdown", relay.id)
                continue
            try:
                on = relay.drive(relay.config.safe_state, cmd=None, reason="shutdown")
            except HardwareError as exc:
                audit.error("relay %s: cannot drive to safe state at shutdown: %s", relay.id, exc)
                continue
            audit.info("relay %s: shutdown, safe state on=%s", relay.id, on)
            self._send_state(relay)
