"""Relay outputs: logical on/off mapped to pin levels, always read back from the pin."""

from __future__ import annotations

import time
from dataclasses import dataclass

from gateway.actuation_decision import RelayRules, RelayStatus
from gateway.config import RelayConfig
from gateway.hardware.base import PinBackend
from gateway.relay_ledger import Wear


@dataclass
class RelayRecord:
    """What the last published state of a relay should say about how it got there."""

    cmd: str | None = None
    reason: str | None = None
    last_change: float | None = None  # monotonic
    rule: str | None = None  # reason "trip": the interlock rule


class Relay:
    def __init__(self, config: RelayConfig, backend: PinBackend, wear: Wear | None = None) -> None:
        self.config = config
        self.backend = backend
        self.wear = wear or Wear()
        self.record = RelayRecord()
        self.rules = RelayRules(min_interval_s=config.min_interval_s)

    @property
    def id(self) -> str:
        return self.config.id

    def _level(self, on: bool) -> bool:
        return on != self.config.active_low

    def setup(self) -> bool:
        """Claim the pin already at the safe level (no glitch through the unsafe one)."""
        self.backend.setup_output(self.config.pin, self._level(self.config.safe_state))
        self.record = RelayRecord(reason="boot")
        on = self.read()
        self.wear.switched(on, time.monotonic())
        return on

    def read(self) -> bool:
        return self.backend.read(self.config.pin) != self.config.active_low

    def drive(self, on: bool, *, cmd: str | None, reason: str, rule: str | None = None) -> bool:
        """Set the pin and return the state read back from it (which may differ)."""
        before = self.read()
        self.backend.write(self.config.pin, self._level(on))
        after = self.read()
        now = time.monotonic()
        last_change = now if after != before else self.record.last_change
        self.record = RelayRecord(cmd=cmd, reason=reason, last_change=last_change, rule=rule)
        self.wear.switched(after, now)
        return after

    def status(self) -> RelayStatus:
        return RelayStatus(on=self.read(), last_change=self.record.last_change)
