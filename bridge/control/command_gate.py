"""The one way in for a relay command, from Socket.IO or HTTP: authorise, rate-limit, validate,
send, and audit the outcome, whatever it is. Commands the HTTP gate refuses before they get
here (origin, CSRF, request rate) are audited through ``refused``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeAlias, get_args

from bridge.control.alarm_commands import (
    AlarmCommands,
    AlarmRequest,
    ServiceRequest,
    parse_alarm_request,
    parse_service_request,
)
from bridge.control.relay_commands import (
    AllToSafe,
    Commands,
    LockRelay,
    Outcome,
    SetRelay,
    Waitable,
    parse_all_to_safe,
    parse_lock,
    parse_request,
)
from bridge.security.audit import AuditEntry, AuditLog, RefusalWindows, text_or_none
from bridge.security.principals import Principal
from bridge.security.ratelimit import RateLimiter
from factory_core.contract import AlarmAction, ErrorCode

log = logging.getLogger(__name__)

Parse = Callable[[object], SetRelay | Outcome]
# What a command is, by the way it came in (the Socket.IO event; each has its HTTP path): the
# audit records it from this, never from the fields a client chose to send.
CommandKind: TypeAlias = Literal[
    "set_relay", "lock_relay", "all_to_safe", "alarm_command", "set_service"
]
ALARM_ACTIONS: Final[frozenset[str]] = frozenset(get_args(AlarmAction))
# The audit's action for an alarm command that named none of those (it is refused as invalid;
# its detail says what it named): a client's text must not pass for another kind's action.
UNKNOWN_ALARM_ACTION: Final = "alarm_command"


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    retry_after: float | None = None  # seconds, when rate-limited


def all_to_safe_answer(decided: dict[str, Decision] | Decision) -> dict[str, Any]:
    """The ``AllToSafeOutcome`` of ``submit_all_to_safe``: a refusal before anything was sent
    is answered under the gateway key ``"*"``."""
    if isinstance(decided, Decision):
        return {"ok": False, "gateways": {"*": decided.outcome.to_dict()}}
    gateways = {gw: d.outcome.to_dict() for gw, d in decided.items()}
    return {"ok": all(o["ok"] for o in gateways.values()), "gateways": gateways}


class CommandGate:
    def __init__(
        self,
        commands: Commands,
        audit: AuditLog,
        limiter: RateLimiter,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        make_event: Callable[[], Waitable] = threading.Event,
        alarms: AlarmCommands | None = None,
        on_audited: Callable[[AuditEntry], None] = lambda _entry: None,
    ) -> None:
        self.on_audited = on_audited
        self.commands = commands
        self.alarms = alarms
        self.audit = audit
        self.limiter = limiter
        self.clock = clock
        self.monotonic = monotonic
        # A flood of refusals is merged per caller and window: each entry is an fsync, and
        # the log must not grow with an attacker's rate. The count is written by the timer
        # (``run_windows``) when the window closes, and by ``stop``.
        self._windows = RefusalWindows()
        self._stopping = make_event()
        self._stopped = False

    def submit(
        self,
        principal: Principal | None,
        data: object,
        via: str,
        remote: str | None,
        parse: Parse = parse_request,
    ) -> Decision:
        decision = self._decide(principal, data, via, parse)
        outcome = decision.outcome
        error = outcome.error or "ok"
        self._record("set_relay", principal, data, via, remote, error, outcome.detail, outcome)
        return decision

    def submit_lock(
        self, principal: Principal | None, data: object, via: str, remote: str | None
    ) -> Decision:
        """Lock or unlock a relay as the caller: the gateway records the caller as the
        lock's author and lets only that user or an admin lift it."""
        fields = data if isinstance(data, dict) else {}
        refused = self._caller_refusal(principal, "lock relays")
        if refused is not None:
            decision = refused
        else:
            assert principal is not None
            parsed = parse_lock(data)
            if isinstance(parsed, LockRelay):
                decision = self._unless_silent(parsed.gateway, parsed.relay) or Decision(
                    self.commands.lock(parsed, by=principal.name, role=principal.role)
                )
            else:
                decision = Decision(parsed)
        outcome = decision.outcome
        reason = text_or_none(fields.get("reason"))
        detail = f"reason: {reason}; {outcome.detail}" if reason else outcome.detail
        self._record(
            "lock_relay", principal, data, via, remote, outcome.error or "ok", detail, outcome
        )
        return decision

    def submit_all_to_safe(
        self, principal: Principal | None, data: object, via: str, remote: str | None
    ) -> dict[str, Decision] | Decision:
        """Every gateway asked (or the one named) to drive all its relays to safe state; one
        audit entry per gateway. A refusal before anything is sent is one Decision."""
        refused = self._caller_refusal(principal, "send all to safe")
        parsed = parse_all_to_safe(data) if refused is None else refused.outcome
        if isinstance(parsed, Outcome):
            self._record("all_to_safe", principal, data, via, remote, parsed.error or "invalid",
                         parsed.detail, parsed)  # fmt: skip
            return Decision(parsed)
        assert principal is not None and isinstance(parsed, AllToSafe)
        known = sorted(self.commands.store.meta)
        if parsed.gateway is not None and parsed.gateway not in known:
            detail = f"gateway: no gateway {parsed.gateway!r} (known: {', '.join(known)})"
            outcome = Outcome(False, None, None, "invalid", detail)
            self._record("all_to_safe", principal, data, via, remote, "invalid", detail,
                         outcome)  # fmt: skip
            return Decision(outcome)
        targets = [parsed.gateway] if parsed.gateway is not None else known
        outcomes = self.commands.all_to_safe(targets, by=principal.name)
        for gw, outcome in outcomes.items():
            self._record("all_to_safe", principal, {"gateway": gw}, via, remote,
                         outcome.error or "ok", outcome.detail, outcome)  # fmt: skip
        return {gw: Decision(o) for gw, o in outcomes.items()}

    def _caller_refusal(self, principal: Principal | None, what: str) -> Decision | None:
        if principal is None:
            return self._refused("forbidden", "log in again: the session has ended")
        wait = self.limiter.take(principal.name, self.monotonic())
        if wait > 0:
            detail = f"too many relay commands from {principal.name}; retry in {wait:.1f} s"
            return self._refused("rate_limited", detail, retry_after=wait)
        if not principal.can("set_relay"):
            return self._refused("forbidden", f"{principal.name} ({principal.role}) may not {what}")
        return None

    def _unless_silent(self, gateway: str, relay: str) -> Decision | None:
        store = self.commands.store
        since = store.silent_since(gateway)
        if since is None or not store.knows_relay(gateway, relay):
            return None
        # A hung gateway would queue the command and might run it much later, when
        # nobody expects it: nothing is sent until it speaks again.
        at = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        detail = (
            f"gateway {gateway} is silent: nothing received from it since {at} "
            f"({self.clock() - since:.0f} s ago); its connection is open but it does not "
            "answer"
        )
        outcome = Outcome(False, None, store.relay_on(gateway, relay), "gateway_silent", detail)
        self.commands.observe(outcome, 0.0)
        return Decision(outcome)

    def submit_alarm(
        self, principal: Principal | None, data: object, via: str, remote: str | None
    ) -> Decision:
        """An alarm command: the same rules as a relay command (role, rate, audit)."""
        decision = self._decide_alarm(principal, data, via)
        outcome = decision.outcome
        error = outcome.error or "ok"
        self._record("alarm_command", principal, data, via, remote, error, outcome.detail, outcome)
        return decision

    def submit_service(
        self, principal: Principal | None, data: object, via: str, remote: str | None
    ) -> Decision:
        """A device out of service or back: the rules of an alarm command (it silences them)."""
        decision = self._decide_alarm(principal, data, via, service=True)
        outcome = decision.outcome
        error = outcome.error or "ok"
        self._record("set_service", principal, data, via, remote, error, outcome.detail, outcome)
        return decision

    def refused(
        self,
        kind: CommandKind,
        principal: Principal,
        data: object,
        via: str,
        remote: str | None,
        error: str,
        detail: str,
    ) -> None:
        """Audit a command refused before it reached its ``submit_*`` (by the HTTP gate);
        ``data`` is what that ``submit_*`` would have been given."""
        self._record(kind, principal, data, via, remote, error, detail, None)

    def _record(
        self,
        kind: CommandKind,
        principal: Principal | None,
        data: object,
        via: str,
        remote: str | None,
        error: str,
        detail: str | None,
        outcome: Outcome | None,
    ) -> None:
        fields = data if isinstance(data, dict) else {}
        action, alarm = audited_as(kind, fields)
        relay_command = kind in ("set_relay", "lock_relay")
        requested = fields.get("on") if kind == "set_relay" else None
        confirmed = fields.get("confirmed") if kind == "set_relay" else None
        entry = AuditEntry(
            ts=self.clock(),
            user=principal.name if principal else None,
            role=principal.role if principal else None,
            via=via,
            remote=remote,
            gateway=text_or_none(fields.get("gateway")),
            relay=text_or_none(fields.get("relay")) if relay_command else None,
            on=requested if isinstance(requested, bool) else None,
            outcome=error,
            ok=outcome is not None and outcome.ok,
            id=outcome.id if outcome is not None else None,
            detail=text_or_none(detail),
            action=action,
            confirmed=confirmed if isinstance(confirmed, bool) else None,
            alarm=alarm,
            reason=text_or_none(fields.get("reason")),
        )
        # After ``stop`` (a request still in flight at shutdown) nothing is held any more.
        written = [entry] if self._stopped else self._windows.offer(entry, self.monotonic())
        self._write(written)

    def _write(self, entries: list[AuditEntry]) -> None:
        # Failures are logged by the audit log: the answer must reach the caller regardless.
        for entry in entries:
            self.audit.append(entry)
            self.on_audited(entry)

    def run_windows(self) -> None:
        """The timer that writes a flood's count when its window closes; runs until ``stop``."""
        while not self._stopped:
            self._stopping.wait(self.close_due_windows())

    def close_due_windows(self) -> float:
        """Write the counts of the windows that have closed; seconds until the next closes."""
        now = self.monotonic()
        self._write(self._windows.close_due(now))
        next_close = self._windows.next_close()
        return self._windows.window_s if next_close is None else max(0.0, next_close - now)

    def stop(self) -> None:
        """Write what the open windows hold and wait until the audit log has it on disk."""
        self._stopped = True
        self._stopping.set()
        self._write(self._windows.close_all())
        self.audit.flush()

    def _decide(
        self, principal: Principal | None, data: object, via: str, parse: Parse
    ) -> Decision:
        # The rate limit before the role check, so that a viewer cannot flood refusals either.
        refused = self._caller_refusal(principal, "switch relays")
        if refused is not None:
            return refused
        assert principal is not None
        parsed = parse(data)
        if isinstance(parsed, Outcome):
            self.commands.observe(parsed, 0.0)
            return Decision(parsed)
        silent = self._unless_silent(parsed.gateway, parsed.relay)
        if silent is not None:
            return silent
        # Commands.send counts its own outcomes.
        return Decision(self.commands.send(parsed, by=f"{principal.name} via {via}"))

    def _decide_alarm(
        self, principal: Principal | None, data: object, via: str, service: bool = False
    ) -> Decision:
        if principal is None:
            return self._refused("forbidden", "log in again: the session has ended")
        wait = self.limiter.take(principal.name, self.monotonic())
        if wait > 0:
            detail = f"too many commands from {principal.name}; retry in {wait:.1f} s"
            return self._refused("rate_limited", detail, retry_after=wait)
        if not principal.can("handle_alarm"):
            detail = f"{principal.name} ({principal.role}) may not acknowledge or shelve alarms"
            return self._refused("forbidden", detail)
        if self.alarms is None:
            return self._refused("invalid", "this bridge handles no alarm commands")
        if service:
            request = parse_service_request(data)
            if isinstance(request, ServiceRequest):
                return Decision(self.alarms.set_service(request, by=principal.name))
            return Decision(request)
        parsed = parse_alarm_request(data)
        if isinstance(parsed, AlarmRequest):
            return Decision(self.alarms.send(parsed, by=principal.name))
        return Decision(parsed)

    def _refused(self, error: ErrorCode, detail: str, retry_after: float | None = None) -> Decision:
        outcome = Outcome(False, None, None, error, detail)
        self.commands.observe(outcome, 0.0)
        return Decision(outcome, retry_after)


def audited_as(kind: CommandKind, fields: dict[Any, Any]) -> tuple[str, str | None]:
    """The audit's ``action`` and ``alarm`` for a command of this kind (docs/api.md, "Audit
    log"). Only the kind says whether it was an alarm command: a stray ``action`` field in a
    relay command does not make it one."""
    match kind:
        case "set_relay" | "all_to_safe":
            return kind, None
        case "lock_relay":
            return ("unlock" if fields.get("lock") is False else "lock"), None
        case "alarm_command":
            action = fields.get("action")
            named = action if isinstance(action, str) and action in ALARM_ACTIONS else None
            alarm = text_or_none(f"{fields.get('source')}/{fields.get('condition')}")
            return named or UNKNOWN_ALARM_ACTION, alarm
        case "set_service":
            action = "return_to_service" if fields.get("in_service") else "out_of_service"
            return action, text_or_none(f"{fields.get('device')}/service")
