"""Token buckets for relay commands, one per caller (pure: the caller passes the time).

Flask-Limiter guards HTTP requests in general; relay commands arrive over Socket.IO too, where
it cannot see them, and a refused command must be answered and audited like any other outcome.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """``burst`` commands at once, then one every ``1 / rate`` seconds."""

    rate: float  # tokens per second
    burst: float
    tokens: float
    stamp: float

    def take(self, now: float) -> float:
        """0.0 if a token was taken, else the seconds until one will be there."""
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else float("inf")


class RateLimiter:
    """One bucket per key; full buckets are forgotten so the table does not grow forever."""

    def __init__(self, per_minute: float, burst: int, max_keys: int = 10_000) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError(f"rate {per_minute!r}/min and burst {burst!r} must be positive")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str, now: float) -> float:
        """0.0 when ``key`` may go ahead, else how long it should wait, in seconds."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.burst, now)
        return bucket.take(now)

    def _forget_full(self, now: float) -> None:
        refill = self.burst / self.rate
        for key in [k for k, b in self._buckets.items() if now - b.stamp >= refill]:
            del self._buckets[key]
