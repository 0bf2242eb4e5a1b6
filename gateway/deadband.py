"""When a reading is worth publishing: on a real change, on a quality change, or periodically."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Deadband:
    deadband: float
    max_silence_s: float  # republish at least this often even if nothing moved
    _last: float | bool | None = None
    _last_good: bool | None = None
    _last_at: float | None = None

    def offer(self, value: float | bool | None, now: float) -> bool:
        """True if ``value`` (None = unreadable) should be published now; then remembers it."""
        good = value is not None
        silent_s = now - self._last_at if self._last_at is not None else None
        if silent_s is None or good != self._last_good or silent_s >= self.max_silence_s:
            changed = True
        elif isinstance(value, bool) or isinstance(self._last, bool):
            changed = value != self._last
        elif value is not None and self._last is not None:
            changed = abs(value - self._last) >= self.deadband and value != self._last
        else:
            changed = False
        if changed:
            self._last, self._last_good, self._last_at = value, good, now
        return changed
