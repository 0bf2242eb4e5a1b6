"""Roll-up of samples into per-bucket min/avg/max/last aggregates, and the choice of tier and
step for a ranged query (pure: no clock, no I/O; history_store.py does the disk).

A bucket of width ``w`` starting at ``origin`` holds what has ``origin + k*w <= t <
origin + (k+1)*w``. An aggregate keeps the sum and the number of samples rather than the
average, so that two aggregates of one bucket merge exactly, whichever batch or tier each
came from: rolling a stream up in any number of pieces gives what rolling it up at once gives.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

K = TypeVar("K", bound=Hashable)


class Aggregate(NamedTuple):
    start: float  # the bucket's start; a single sample's own ts
    min: float
    max: float
    sum: float
    samples: int  # not `count`: a tuple has a method of that name
    last: float  # the value with the latest ts
    last_ts: float

    @classmethod
    def of(cls, ts: float, value: float) -> Aggregate:
        return cls(ts, value, value, value, 1, value, ts)

    @property
    def avg(self) -> float:
        # Clamped: the rounding of a long float sum must not put the average outside the range.
        return min(max(self.sum / self.samples, self.min), self.max)

    def merged(self, other: Aggregate) -> Aggregate:
        """Both in one bucket (this one's start); on a tie of ts ``other`` is the later."""
        newer = other if other.last_ts >= self.last_ts else self
        return Aggregate(
            self.start,
            min(self.min, other.min),
            max(self.max, other.max),
            self.sum + other.sum,
            self.samples + other.samples,
            newer.last,
            newer.last_ts,
        )


def bucket_start(ts: float, width: float, origin: float = 0.0) -> float:
    return origin + math.floor((ts - origin) / width) * width


def roll_up(
    items: Iterable[tuple[K, Aggregate]], width: float, origin: float = 0.0
) -> dict[tuple[K, float], Aggregate]:
    """Merge aggregates (or ``Aggregate.of`` samples) into buckets of ``width``, by their start.

    Order matters only for ``last`` on a tie of ts: the later item wins.
    """
    if not (width > 0 and math.isfinite(width)):
        raise ValueError(f"bucket width must be a positive number, got {width}")
    out: dict[tuple[K, float], Aggregate] = {}
    for series, agg in items:
        start = bucket_start(agg.start, width, origin)
        slot = (series, start)
        held = out.get(slot)
        if held is None:
            out[slot] = Aggregate(
                start, agg.min, agg.max, agg.sum, agg.samples, agg.last, agg.last_ts
            )
        else:
            out[slot] = held.merged(agg)
    return out


def roll_up_samples(
    samples: Iterable[tuple[K, float, float]], width: float
) -> dict[tuple[K, float], Aggregate]:
    """``roll_up`` of ``(series, Aggregate.of(ts, value))`` for each sample, without making
    an aggregate per sample: the disk thread rolls up to 20,000 readings a second, all of it
    holding the GIL that the event loop needs (3x faster, measured)."""
    acc: dict[tuple[K, float], list[float]] = {}
    for series, ts, value in samples:
        slot = (series, bucket_start(ts, width))
        held = acc.get(slot)
        if held is None:
            acc[slot] = [value, value, value, 1, value, ts]
            continue
        held[0] = min(held[0], value)
        held[1] = max(held[1], value)
        held[2] += value
        held[3] += 1
        if ts >= held[5]:
            held[4], held[5] = value, ts
    return {
        slot: Aggregate(slot[1], lo, hi, total, int(count), last, last_ts)
        for slot, (lo, hi, total, count, last, last_ts) in acc.items()
    }


# --------------------------------------------------------------------------- ranged queries


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    width: int  # seconds per bucket
    keep_s: float  # a bucket that began longer ago than this (bridge's clock) is deleted


def effective_step(start: float, end: float, step: float | None, points: int) -> float:
    """The step asked for, widened so that ``[start, end)`` holds at most ``points`` buckets."""
    if not start < end:
        raise ValueError(f"from ({start}) must be before to ({end})")
    if points < 1:
        raise ValueError(f"points must be at least 1, got {points}")
    widest_needed = (end - start) / points
    return max(step or widest_needed, widest_needed)


def choose_tier(tiers: Sequence[Tier], start: float, step: float, now: float) -> Tier:
    """The coarsest tier that is still finer than ``step`` and still holds ``start``; failing
    that the finest tier that holds ``start`` (fewer points than asked), failing that the
    coarsest (``start`` is older than anything kept: the answer begins where data does)."""
    if not tiers:
        raise ValueError("no history tiers")
    by_width = sorted(tiers, key=lambda t: t.width)
    holding = [t for t in by_width if start >= now - t.keep_s]
    fine_enough = [t for t in holding if t.width <= step]
    if fine_enough:
        return fine_enough[-1]
    if holding:
        return holding[0]
    return by_width[-1]
