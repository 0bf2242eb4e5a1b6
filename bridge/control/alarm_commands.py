"""Alarm commands (acknowledge, shelve, unshelve): validate, send once, wait for the result.

A device's alarm belongs to its gateway, which evaluates it: the command is published on
``.../alarms/<source>/<condition>/set`` with a deadline and an MQTT 5 expiry, as a relay
command is, and the outcome is the gateway's result for that id. A gateway's own alarms
(offline, silent) have no gateway to answer: their acknowledgement is the one shared
retained record on ``.../gateway_alarms/<condition>/ack``, written by the first bridge that
takes one for the outage; a repeat finds it there and changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from bridge.control.relay_commands import Outcome, Waitable
from bridge.state.store import GATEWAY_SOURCE, Store
from factory_core.alarms import Condition
from factory_core.command_expiry import deadline_after, result_wait
from factory_core.contract import (
    AlarmAction,
    AlarmCommand,
    CommandResult,
    GatewayAlarmAck,
    Identifier,
    OutOfService,
    describe_validation_error,
)

log = logging.getLogger(__name__)


class AlarmPublisher(Protocol):
    @property
    def connected(self) -> bool: ...

    def publish_alarm_command(
        self, gateway: str, source: str, condition: Condition, command: AlarmCommand, ttl: float
    ) -> bool: ...

    def publish_gateway_ack(
        self, gateway: str, condition: Condition, ack: GatewayAlarmAck
    ) -> bool: ...

    def publish_service(self, gateway: str, device: str, state: OutOfService | None) -> bool: ...


class AlarmRequest(BaseModel):
    """What a client sends to handle an alarm."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gateway: Identifier
    source: Identifier
    condition: Condition
    action: AlarmAction
    until: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    reason: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
        | None
    ) = None


class ServiceRequest(BaseModel):
    """What a client sends to take a device out of service, or to return it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gateway: Identifier
    device: Identifier
    in_service: bool
    reason: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
        | None
    ) = None


def parse_service_request(data: object) -> ServiceRequest | Outcome:
    if not isinstance(data, dict):
        detail = (
            f"expected an object with gateway, device and in_service, got {type(data).__name__}"
        )
        return Outcome(False, None, None, "invalid", detail)
    try:
        request = ServiceRequest.model_validate(data)
    except ValidationError as exc:
        return Outcome(False, None, None, "invalid", describe_validation_error(exc))
    if not request.in_service and request.reason is None:
        return Outcome(
            False, None, None, "invalid", "taking a device out of service needs a reason"
        )
    return request


def parse_alarm_request(data: object) -> AlarmRequest | Outcome:
    if not isinstance(data, dict):
        detail = (
            "expected an object with gateway, source, condition and action, "
            f"got {type(data).__name__}"
        )
        return Outcome(False, None, None, "invalid", detail)
    try:
        request = AlarmRequest.model_validate(data)
    except ValidationError as exc:
        return Outcome(False, None, None, "invalid", describe_validation_error(exc))
    if request.action == "shelve" and (request.until is None or request.reason is None):
        detail = "shelve needs 'until' (Unix time when the shelf ends) and a 'reason'"
        return Outcome(False, None, None, "invalid", detail)
    return request


class AlarmCommands:
    def __init__(
        self,
        store: Store,
        publisher: AlarmPublisher,
        make_event: Callable[[], Waitable],
        clock: Callable[[], float],
        ttl: float,
        grace: float = 0.0,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.make_event = make_event
        self.clock = clock
        self.ttl = ttl
        self.grace = grace
        self._waiting: dict[str, tuple[Waitable, list[CommandResult]]] = {}

    def resolve(self, result: CommandResult) -> None:
        waiter = self._waiting.get(result.id)
        if waiter is not None and not waiter[1]:
            waiter[1].append(result)
            waiter[0].set()

    def send(self, req: AlarmRequest, by: str) -> Outcome:
        gw, source, condition = req.gateway, req.source, req.condition
        entry = self.store.alarm(gw, source, condition)
        if entry is None:
            detail = f"no alarm {condition!r} on {gw}/{source} is known"
            return Outcome(False, None, None, "unknown_alarm", detail)
        if not self.publisher.connected:
            return Outcome(False, None, None, "not_connected", "the bridge has no MQTT connection")
        now = self.clock()
        command_id = uuid.uuid4().hex
        if source == GATEWAY_SOURCE:
            return self._gateway_ack(req, entry, command_id, by, now)
        status = self.store.gateways.get(gw, {}).get("status")
        if status in ("offline", "silent"):
            # Only the gateway holds its devices' alarms: nothing is sent until it is back.
            detail = f"gateway {gw} is {status}: its alarms can be handled when it is back"
            return Outcome(False, None, None, f"gateway_{status}", detail)  # type: ignore[arg-type]
        command = AlarmCommand(
            action=req.action,
            id=command_id,
            by=by,
            deadline=deadline_after(now, self.ttl),
            until=req.until,
            reason=req.reason,
        )
        event = self.make_event()
        results: list[CommandResult] = []
        self._waiting[command_id] = (event, results)
        try:
            if not self.publisher.publish_alarm_command(gw, source, condition, command, self.ttl):
                log.warning("alarm command %s queued while the broker link is down", command_id)
            event.wait(result_wait(self.ttl, self.grace))
        finally:
            del self._waiting[command_id]
        if not results:
            detail = f"no answer from gateway {gw} within {result_wait(self.ttl, self.grace):g} s"
            return Outcome(False, command_id, None, "timeout", detail)
        result = results[0]
        if result.ok:
            return Outcome(True, command_id, None, None, result.detail)
        return Outcome(False, command_id, None, result.error or "invalid", result.detail)

    def _gateway_ack(
        self, req: AlarmRequest, entry: dict[str, object], command_id: str, by: str, now: float
    ) -> Outcome:
        if req.action != "acknowledge":
            detail = f"a gateway's own {req.condition} alarm can be acknowledged, not {req.action}d"
            return Outcome(False, None, None, "invalid", detail)
        if entry["acked"]:
            return Outcome(True, None, None, None, "already acknowledged")  # harmless repeat
        ack = GatewayAlarmAck(
            episode=self.store.alarm_episode(req.gateway), id=command_id, by=by, ts=now
        )
        if not self.publisher.publish_gateway_ack(req.gateway, req.condition, ack):
            return Outcome(False, None, None, "not_connected", "the bridge has no MQTT connection")
        return Outcome(True, command_id, None, None, None)

    def set_service(self, req: ServiceRequest, by: str) -> Outcome:
        """Out of service (or back): one shared retained record every bridge reads alike."""
        if not self.store.knows_device(req.gateway, req.device):
            detail = f"gateway {req.gateway!r} has no device {req.device!r}"
            return Outcome(False, None, None, "unknown_device", detail)
        if not self.publisher.connected:
            return Outcome(False, None, None, "not_connected", "the bridge has no MQTT connection")
        command_id = uuid.uuid4().hex
        state = (
            None
            if req.in_service
            else OutOfService(id=command_id, by=by, ts=self.clock(), reason=req.reason or "")
        )
        if not self.publisher.publish_service(req.gateway, req.device, state):
            return Outcome(False, None, None, "not_connected", "the bridge has no MQTT connection")
        return Outcome(True, command_id, None, None, None)
