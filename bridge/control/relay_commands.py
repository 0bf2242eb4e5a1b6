"""Relay commands: validate, publish once, wait for the gateway's result by command id.

The outcome always carries the state the gateway read back (or null when unknown), never
the state that was asked for. Waiting uses an event object from the caller's concurrency
model (a gevent Event in the server), so this module itself does no I/O.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError

from bridge.state.store import Store
from factory_core.command_expiry import deadline_after, result_wait
from factory_core.contract import (
    CommandResult,
    ErrorCode,
    Identifier,
    RelayCommand,
    describe_validation_error,
)

log = logging.getLogger(__name__)


class Waitable(Protocol):
    def set(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class Publisher(Protocol):
    @property
    def connected(self) -> bool: ...

    def publish_command(self, gateway: str, relay: str, command: RelayCommand, ttl: float) -> bool:
        """Hand the command to the broker; False when it could not be sent."""


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    id: str | None
    on: bool | None
    error: ErrorCode | None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SetRelay(BaseModel):
    """What a client sends to switch a relay."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gateway: Identifier
    relay: Identifier
    on: StrictBool


def parse_request(data: object) -> SetRelay | Outcome:
    """The validated request, or the ``invalid`` outcome naming what was wrong."""
    if not isinstance(data, dict):
        detail = f"expected an object with gateway, relay and on, got {type(data).__name__}"
        return Outcome(False, None, None, "invalid", detail)
    try:
        return SetRelay.model_validate(data)
    except ValidationError as exc:
        return Outcome(False, None, None, "invalid", describe_validation_error(exc))


@dataclass(slots=True)
class _Waiter:
    gateway: str
    relay: str
    event: Waitable
    result: CommandResult | None = None


class Commands:
    def __init__(
        self,
        store: Store,
        publisher: Publisher,
        make_event: Callable[[], Waitable],
        clock: Callable[[], float],
        ttl: float,
        observe: Callable[[Outcome, float], None] = lambda _o, _s: None,
        grace: float = 0.0,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.make_event = make_event
        self.clock = clock
        self.ttl = ttl
        # Gateways still run a command up to their clock skew after its deadline: until that
        # has passed too, "timeout" would be a lie the relay could contradict.
        self.grace = grace
        self.observe = observe
        self._waiting: dict[str, _Waiter] = {}

    def send(self, request: SetRelay, by: str = "bridge") -> Outcome:
        started = self.clock()
        outcome = self._send(request, by)
        self.observe(outcome, self.clock() - started)
        return outcome

    def resolve(self, result: CommandResult) -> None:
        """A result arrived on MQTT; wake whoever waits for that id (if it was ours)."""
        waiter = self._waiting.get(result.id)
        if waiter is not None and waiter.result is None:
            waiter.result = result
            waiter.event.set()

    @property
    def in_flight(self) -> int:
        return len(self._waiting)

    def _send(self, req: SetRelay, by: str) -> Outcome:
        gw, relay = req.gateway, req.relay
        if not self.store.knows_relay(gw, relay):
            known = "unknown" if gw not in self.store.meta else "known"
            detail = f"gateway {gw!r} ({known}) has no relay {relay!r}"
            return Outcome(False, None, None, "unknown_relay", detail)
        # The broker first: without it every gateway looks offline, and that is not the cause.
        if not self.publisher.connected:
            return Outcome(False, None, None, "not_connected", "the bridge has no MQTT connection")
        if self.store.is_online(gw) is False:
            on = self.store.relay_on(gw, relay)
            return Outcome(False, None, on, "gateway_offline", f"gateway {gw} is offline")
        command_id = uuid.uuid4().hex
        deadline = deadline_after(self.clock(), self.ttl)
        command = RelayCommand(on=req.on, id=command_id, by=by, deadline=deadline)
        waiter = _Waiter(gw, relay, self.make_event())
        self._waiting[command_id] = waiter
        try:
            if not self.publisher.publish_command(gw, relay, command, self.ttl):
                # paho keeps a QoS 1 message it could not send and sends it on reconnect, so
                # the command may still run: its outcome is unknown, not "not sent".
                log.warning("command %s queued while the broker link is down", command_id)
            waiter.event.wait(result_wait(self.ttl, self.grace))
        finally:
            del self._waiting[command_id]
        result = waiter.result
        if result is None:
            detail = (
                f"no answer from gateway {gw} within {result_wait(self.ttl, self.grace):g} s; "
                "the command has expired and will not run"
            )
            return Outcome(False, command_id, self.store.relay_on(gw, relay), "timeout", detail)
        on = self.store.confirmed_on(gw, relay, result)
        if result.ok:
            return Outcome(True, command_id, on, None, result.detail)
        log.info("command %s on %s/%s rejected: %s", command_id, gw, relay, result.error)
        return Outcome(False, command_id, on, result.error or "hardware_error", result.detail)
