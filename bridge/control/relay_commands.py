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
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from bridge.state.store import Store
from factory_core.command_expiry import deadline_after, result_wait
from factory_core.contract import (
    AllToSafeCommand,
    CommandResult,
    ErrorCode,
    Identifier,
    LockCommand,
    LockReason,
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

    def publish_lock(self, gateway: str, relay: str, command: LockCommand, ttl: float) -> bool:
        """The same for a lock or unlock (on the topic only bridges may write)."""

    def publish_all_to_safe(self, gateway: str, command: AllToSafeCommand, ttl: float) -> bool:
        """The same for all to safe (on the topic only bridges may write)."""


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
    confirmed: StrictBool = False  # the operator confirmed it; for the audit only


class LockRelay(BaseModel):
    """What a client sends to lock or unlock a relay; its author is the caller."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gateway: Identifier
    relay: Identifier
    lock: StrictBool
    reason: LockReason | None = None


class AllToSafe(BaseModel):
    """One gateway, or every gateway when ``gateway`` is absent."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gateway: Identifier | None = Field(default=None)


def parse_request(data: object) -> SetRelay | Outcome:
    """The validated request, or the ``invalid`` outcome naming what was wrong."""
    return _parse(SetRelay, data, "gateway, relay and on")


def parse_lock(data: object) -> LockRelay | Outcome:
    return _parse(LockRelay, data, "gateway, relay, lock and a reason")


def parse_all_to_safe(data: object) -> AllToSafe | Outcome:
    return _parse(AllToSafe, {} if data is None else data, "an optional gateway")


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], data: object, expected: str) -> M | Outcome:
    if not isinstance(data, dict):
        detail = f"expected an object with {expected}, got {type(data).__name__}"
        return Outcome(False, None, None, "invalid", detail)
    try:
        return model.model_validate(data)
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

    def lock(self, request: LockRelay, by: str, role: str) -> Outcome:
        """Lock or unlock; ``by`` and ``role`` are the authenticated caller's."""
        gw, relay = request.gateway, request.relay
        refused = self._refusal(gw, relay)
        if refused is not None:
            return refused
        command_id = uuid.uuid4().hex
        command = LockCommand(
            lock=request.lock,
            id=command_id,
            by=by,
            role="admin" if role == "admin" else "operator",
            reason=request.reason,
            deadline=deadline_after(self.clock(), self.ttl),
        )
        waiter = self._wait_for(command_id, gw, relay)
        try:
            self.publisher.publish_lock(gw, relay, command, self.ttl)
            waiter.event.wait(result_wait(self.ttl, self.grace))
        finally:
            del self._waiting[command_id]
        return self._outcome(waiter, command_id)

    def all_to_safe(self, gateways: list[str], by: str) -> dict[str, Outcome]:
        """Every gateway asked at once, then each waited for: one slow gateway delays only
        the answer, not the others' action."""
        outcomes: dict[str, Outcome] = {}
        waiters: dict[str, tuple[str, _Waiter]] = {}
        if not self.publisher.connected:
            detail = "the bridge has no MQTT connection"
            return {gw: Outcome(False, None, None, "not_connected", detail) for gw in gateways}
        try:
            for gw in gateways:
                if self.store.is_online(gw) is False:
                    outcomes[gw] = Outcome(False, None, None, "gateway_offline", f"{gw} is offline")
                    continue
                command_id = uuid.uuid4().hex
                command = AllToSafeCommand(
                    id=command_id, by=by, deadline=deadline_after(self.clock(), self.ttl)
                )
                waiters[gw] = command_id, self._wait_for(command_id, gw, "")
                self.publisher.publish_all_to_safe(gw, command, self.ttl)
            for gw, (command_id, waiter) in waiters.items():
                waiter.event.wait(result_wait(self.ttl, self.grace))
                outcomes[gw] = self._outcome(waiter, command_id)
        finally:
            for command_id, _waiter in waiters.values():
                self._waiting.pop(command_id, None)
        return outcomes

    def _wait_for(self, command_id: str, gw: str, relay: str) -> _Waiter:
        waiter = _Waiter(gw, relay, self.make_event())
        self._waiting[command_id] = waiter
        return waiter

    def _refusal(self, gw: str, relay: str) -> Outcome | None:
        """Why a command to this relay cannot even be sent, or None."""
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
        return None

    def _outcome(self, waiter: _Waiter, command_id: str) -> Outcome:
        result = waiter.result
        gw, relay = waiter.gateway, waiter.relay
        on = self.store.relay_on(gw, relay) if relay else None
        if result is None:
            detail = (
                f"no answer from gateway {gw} within {result_wait(self.ttl, self.grace):g} s; "
                "the command has expired and will not run"
            )
            return Outcome(False, command_id, on, "timeout", detail)
        if relay:
            on = self.store.confirmed_on(gw, relay, result)
        if result.ok:
            return Outcome(True, command_id, on, None, result.detail)
        return Outcome(False, command_id, on, result.error or "hardware_error", result.detail)

    def _send(self, req: SetRelay, by: str) -> Outcome:
        gw, relay = req.gateway, req.relay
        refused = self._refusal(gw, relay)
        if refused is not None:
            return refused
        command_id = uuid.uuid4().hex
        deadline = deadline_after(self.clock(), self.ttl)
        command = RelayCommand(on=req.on, id=command_id, by=by, deadline=deadline)
        waiter = self._wait_for(command_id, gw, relay)
        try:
            if not self.publisher.publish_command(gw, relay, command, self.ttl):
                # paho keeps a QoS 1 message it could not send and sends it on reconnect, so
                # the command may still run: its outcome is unknown, not "not sent".
                log.warning("command %s queued while the broker link is down", command_id)
            waiter.event.wait(result_wait(self.ttl, self.grace))
        finally:
            del self._waiting[command_id]
        outcome = self._outcome(waiter, command_id)
        if outcome.error not in (None, "timeout"):
            log.info("command %s on %s/%s rejected: %s", command_id, gw, relay, outcome.error)
        return outcome
