"""The one way in for a relay command, from Socket.IO or HTTP: authorise, rate-limit, validate,
send, and audit the outcome, whatever it is."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bridge.audit import AuditEntry, AuditLog, text_or_none
from bridge.auth import Principal
from bridge.commands import Commands, Outcome, SetRelay, parse_request
from bridge.ratelimit import RateLimiter
from factory_core.contract import ErrorCode

log = logging.getLogger(__name__)

Parse = Callable[[object], SetRelay | Outcome]
FLOOD_AUDIT_WINDOW_S = 10.0


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    retry_after: float | None = None  # seconds, when rate-limited


class CommandGate:
    def __init__(
        self,
        commands: Commands,
        audit: AuditLog,
        limiter: RateLimiter,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.commands = commands
        self.audit = audit
        self.limiter = limiter
        self.clock = clock
        self.monotonic = monotonic
        # A flood of refused commands is audited as one entry per caller per window, with a
        # count: each entry is an fsync, and the log must not grow with an attacker's rate.
        self._flood_until: dict[str, float] = {}
        self._flood_count: dict[str, int] = {}

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
        if outcome.error == "rate_limited" and principal is not None:
            suppressed = self._flood(principal.name)
            if suppressed is None:
                return decision
            if suppressed:
                outcome = Outcome(
                    False, None, None, "rate_limited",
                    f"{outcome.detail} ({suppressed} more refused since the last entry)",
                )  # fmt: skip
        fields = data if isinstance(data, dict) else {}
        requested = fields.get("on")
        entry = AuditEntry(
            ts=self.clock(),
            user=principal.name if principal else None,
            role=principal.role if principal else None,
            via=via,
            remote=remote,
            gateway=text_or_none(fields.get("gateway")),
            relay=text_or_none(fields.get("relay")),
            on=requested if isinstance(requested, bool) else None,
            outcome=outcome.error or "ok",
            ok=outcome.ok,
            id=outcome.id,
            detail=text_or_none(outcome.detail),
        )
        # Failures are logged by the audit log: the answer must reach the caller regardless.
        self.audit.append(entry)
        return decision

    def _flood(self, name: str) -> int | None:
        """None: leave this refusal out of the audit; else how many were left out before it."""
        now = self.monotonic()
        if now < self._flood_until.get(name, float("-inf")):
            self._flood_count[name] = self._flood_count.get(name, 0) + 1
            return None
        self._flood_until[name] = now + FLOOD_AUDIT_WINDOW_S
        return self._flood_count.pop(name, 0)

    def _decide(
        self, principal: Principal | None, data: object, via: str, parse: Parse
    ) -> Decision:
        if principal is None:
            return self._refused("forbidden", "log in again: the session has ended")
        # Before the role check, so that a viewer cannot flood refusals either.
        wait = self.limiter.take(principal.name, self.monotonic())
        if wait > 0:
            detail = f"too many relay commands from {principal.name}; retry in {wait:.1f} s"
            return self._refused("rate_limited", detail, retry_after=wait)
        if not principal.can("set_relay"):
            detail = f"{principal.name} ({principal.role}) may not switch relays"
            return self._refused("forbidden", detail)
        parsed = parse(data)
        if isinstance(parsed, Outcome):
            self.commands.observe(parsed, 0.0)
            return Decision(parsed)
        store = self.commands.store
        since = store.silent_since(parsed.gateway)
        if since is not None and store.knows_relay(parsed.gateway, parsed.relay):
            # A hung gateway would queue the command and might run it much later, when
            # nobody expects it: nothing is sent until it speaks again.
            at = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            detail = (
                f"gateway {parsed.gateway} is silent: nothing received from it since {at} "
                f"({self.clock() - since:.0f} s ago); its connection is open but it does not "
                "answer"
            )
            outcome = Outcome(False, None, store.relay_on(parsed.gateway, parsed.relay),
                              "gateway_silent", detail)  # fmt: skip
            self.commands.observe(outcome, 0.0)
            return Decision(outcome)
        # Commands.send counts its own outcomes.
        return Decision(self.commands.send(parsed, by=f"{principal.name} via {via}"))

    def _refused(self, error: ErrorCode, detail: str, retry_after: float | None = None) -> Decision:
        outcome = Outcome(False, None, None, error, detail)
        self.commands.observe(outcome, 0.0)
        return Decision(outcome, retry_after)
