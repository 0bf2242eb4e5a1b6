"""A short, downsampled history per device for sparklines (pure: no clock, no I/O).

Time is cut into fixed buckets of ``window / points`` seconds; each bucket keeps the last
value seen in it. Memory per device is therefore bounded by ``points``, whatever the rate.
Buckets older than ``window`` before the newest sample are dropped, so a gateway's clock
skew never empties a history.

What the ``state`` event carries is thinner for a large plant (``for_state``): every client
gets it on connect and parses it before it can draw, and at 300 points for each of 5,000
devices it would be ~35 MB. The dashboard extends each line with the live readings; a device's
full sparkline is ``GET /api/devices/<gateway>/<id>/history`` (docs/api.md).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

Value = float | int | bool | None
Point = tuple[float, Value]

# Sparkline points in one ``state``, over all devices (~24 bytes each in JSON: ~2.4 MB at most):
# every device keeps all its points up to 333 devices; 5,000 devices keep 20 each, one every
# three minutes of the hour.
STATE_POINTS: int = 100_000


def thinned(points: list[Point], most: int) -> list[Point]:
    """At most ``most`` (>= 2) of ``points``, evenly spread, keeping the first and the last."""
    if len(points) <= most:
        return points
    last = len(points) - 1
    return [points[round(i * last / (most - 1))] for i in range(most)]


@dataclass(slots=True)
class _Bucket:
    index: int
    ts: float
    value: Value


class History:
    def __init__(self, window: float = 3600.0, points: int = 300) -> None:
        if window <= 0 or points < 2:
            raise ValueError(f"history needs window > 0 and points >= 2, got {window}, {points}")
        self.window = window
        self.points = points
        self.bucket_width = window / points
        self._series: dict[str, deque[_Bucket]] = {}

    def add(self, key: str, ts: float, value: Value) -> None:
        """Record one sample; older samples than the newest bucket are ignored."""
        if value is None or not math.isfinite(float(value)):
            return
        index = math.floor(ts / self.bucket_width)
        series = self._series.setdefault(key, deque(maxlen=self.points))
        if series and index < series[-1].index:
            return
        if series and index == series[-1].index:
            last = series[-1]
            if ts >= last.ts:
                last.ts, last.value = ts, value
            return
        series.append(_Bucket(index, ts, value))
        oldest = index - self.points + 1
        while series and series[0].index < oldest:
            series.popleft()

    def get(self, key: str) -> list[Point]:
        return [(b.ts, b.value) for b in self._series.get(key, ())]

    def for_state(self, budget: int = STATE_POINTS) -> dict[str, list[Point]]:
        """Every series, each thinned to its share of ``budget`` points (at least 2)."""
        most = max(2, budget // max(1, len(self._series)))
        return {key: thinned(self.get(key), most) for key in self._series}

    def __contains__(self, key: object) -> bool:
        return key in self._series
