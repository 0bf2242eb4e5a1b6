"""Pure statistics for the benchmarks: percentiles, summaries, ratios, polling staleness.

No sockets and no clocks: every function takes the samples it works on, so all of it is
unit-tested without running anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(sorted_samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks.

    The samples must already be sorted; this is numpy's default ("linear") method.
    """
    if not sorted_samples:
        raise ValueError("percentile of no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within 0..100, got {q}")
    pos = (len(sorted_samples) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_samples) - 1)
    frac = pos - lo
    return sorted_samples[lo] + (sorted_samples[hi] - sorted_samples[lo]) * frac


@dataclass(frozen=True, slots=True)
class Summary:
    """A latency distribution in milliseconds, and the rate at which its samples came."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float
    rate: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(seconds: Iterable[float], rate: float | None = None) -> Summary:
    """Summarize latencies given in seconds; the summary is in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    if not ms:
        raise ValueError("no samples to summarize: nothing was received")
    return Summary(
        count=len(ms),
        p50=percentile(ms, 50),
        p90=percentile(ms, 90),
        p99=percentile(ms, 99),
        max=ms[-1],
        rate=rate,
    )


def ratio(value: float | None, floor: float | None) -> float | None:
    """value ÷ floor, or None when either is unknown or the floor is not positive."""
    if value is None or floor is None or floor <= 0:
        return None
    return value / floor


def rate(count: int, seconds: float) -> float:
    if seconds <= 0:
        raise ValueError(f"rate over a non-positive duration {seconds} s")
    return count / seconds


def staleness(sent: Iterable[tuple[int, float]], polls: Iterable[tuple[float, int]]) -> list[float]:
    """How long each published value stayed invisible to a polling client, in seconds.

    ``sent`` holds (seq, send time); ``polls`` holds (poll time, newest seq the poll saw).
    A value's staleness is the time of the first poll that saw it or a newer one, minus its
    send time. Values no poll saw (published after the last poll) are left out.
    """
    by_time = sorted(polls)
    # The newest seq seen by any poll up to each poll: a poll answered by a lagging server
    # does not make an already seen value unseen.
    best: list[tuple[float, int]] = []
    newest = -1
    for at, seq in by_time:
        newest = max(newest, seq)
        best.append((at, newest))
    out: list[float] = []
    i = 0
    for seq, sent_at in sorted(sent):
        while i < len(best) and (best[i][1] < seq or best[i][0] < sent_at):
            i += 1
        if i == len(best):
            break
        out.append(best[i][0] - sent_at)
    return out


def memory_per_client(rss_before: int, rss_after: int, clients: int) -> float:
    """Bytes of bridge RSS each connected client costs."""
    if clients <= 0:
        raise ValueError(f"memory per client needs at least one client, got {clients}")
    return (rss_after - rss_before) / clients


def window(samples: Iterable[Sequence[float]], start: float, end: float) -> list[float]:
    """Latencies of the (send ts, latency) samples sent within [start, end]."""
    return [lat for ts, lat in samples if start <= ts <= end]
