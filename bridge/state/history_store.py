"""History that survives a restart: every good reading and relay state, rolled up into tiers
in an SQLite file in the state dir (the roll-up itself is the pure ``bridge.state.rollup``).

On the event loop ``record`` only appends to a list (O(1), no I/O): a push is never delayed.
``flush`` hands the list to the disk worker (one OS thread, like the audit log), which rolls
it up and upserts it in one transaction; the bridge calls it every ``FACTORY_HISTORY_FLUSH_S``
and on shutdown, so a restart loses at most that much. Tiers: per-second aggregates (the
"raw-ish" tier), per-minute and per-10-minutes, each deleted by age on its own retention.
Every bridge keeps its own file (nothing is shared but the broker); bridges given one state
dir share it, and each reading is stored once.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from bridge.security.audit import DiskWorker
from bridge.security.private_files import StateFileError
from bridge.state.rollup import (
    Aggregate,
    Tier,
    bucket_start,
    choose_tier,
    effective_step,
    roll_up,
    roll_up_samples,
)
from factory_core.contract import (
    DeviceState,
    DeviceStateTopic,
    LateSamples,
    LateSamplesTopic,
    Message,
    RelayState,
    RelayStateTopic,
    describe_validation_error,
)

log = logging.getLogger(__name__)

Kind = Literal["device", "relay"]
SeriesKey = tuple[Kind, str, str]  # kind, gateway, device or relay id
# One reading as recorded on the loop: series, ts, value, and whether it is a step series.
Sample = tuple[SeriesKey, float, float, bool]

DB_NAME: Final = "history.sqlite3"
DEFAULT_POINTS: Final = 1000
MAX_POINTS: Final = 10_000
# A reading stamped later than this after the bridge's clock is not stored.
MAX_AHEAD_S: Final = 300.0
# Flush early when this many samples wait: bounds memory at 20,000 msg/s.
MAX_BATCH: Final = 50_000
COLUMNS: Final = ("ts", "min", "avg", "max", "last")


def sample_of(message: Message) -> Sample | None:
    """What a state message adds to the history: good readings, relay levels (as 0/1)."""
    topic, payload = message.topic, message.payload
    if isinstance(topic, DeviceStateTopic) and isinstance(payload, DeviceState):
        value = payload.value
        if payload.quality != "good" or value is None or not math.isfinite(value):
            return None
        is_bool = isinstance(value, bool)
        return (("device", topic.gateway, topic.device), payload.ts, float(value), is_bool)
    if isinstance(topic, RelayStateTopic) and isinstance(payload, RelayState):
        return (("relay", topic.gateway, topic.relay), payload.ts, float(payload.on), True)
    return None


def late_samples_of(message: Message) -> list[Sample]:
    """What a gateway's late samples (kept through an outage) add to the history: the good
    readings, each as a sample of its device's series."""
    topic, payload = message.topic, message.payload
    if not (isinstance(topic, LateSamplesTopic) and isinstance(payload, LateSamples)):
        return []
    out: list[Sample] = []
    for late in payload.samples:
        value = late.value
        if late.quality != "good" or value is None or not math.isfinite(value):
            continue
        key: SeriesKey = ("device", topic.gateway, late.device)
        out.append((key, late.ts, float(value), isinstance(value, bool)))
    return out


def default_tiers(
    second_keep_s: float, minute_keep_s: float, ten_minute_keep_s: float
) -> list[Tier]:
    return [
        Tier("second", 1, second_keep_s),
        Tier("minute", 60, minute_keep_s),
        Tier("ten_minutes", 600, ten_minute_keep_s),
    ]


@dataclass(frozen=True, slots=True)
class Series:
    """A ranged query's answer: ``points`` are ``[ts, min, avg, max, last]``, ts the start of
    the bucket; a step series (relay, digital input) begins with the level held at ``start``."""

    start: float
    end: float
    step: float
    tier: str
    step_series: bool
    points: list[list[float]]
    recorded: bool = True  # False: nothing was ever recorded for this series


class Recent(NamedTuple):
    gateway: str
    device: str
    ts: float
    value: float | bool  # a digital input's level is a boolean again


class HistoryStore:
    def __init__(
        self, path: Path, tiers: list[Tier], worker: DiskWorker, clock: Callable[[], float]
    ) -> None:
        widths = [t.width for t in tiers]
        if not tiers or any(b % a for a, b in itertools.pairwise(widths)):
            raise ValueError(f"tier widths must each divide the next, got {widths}")
        self.path = path
        self.tiers = tiers
        self.worker = worker
        self.clock = clock  # read on the disk thread: retention, and readings from the future
        self.size_bytes = 0  # the file and its WAL, as of the last write (read by /metrics)
        self.written = 0  # samples stored
        self.skipped = 0  # repeats, readings older than the latest stored, or from the future
        self._buffer: list[Sample] = []
        self._late: list[Sample] = []
        # Below: the disk thread's alone.
        self._db: sqlite3.Connection | None = None
        self._ids: dict[SeriesKey, int] = {}
        self._last_ts: dict[int, float] = {}
        self._pruned_at = -math.inf

    # On the event loop --------------------------------------------------------
    def record(self, sample: Sample) -> None:
        self._buffer.append(sample)
        if len(self._buffer) >= MAX_BATCH:
            self.flush()

    def record_late(self, samples: list[Sample]) -> None:
        """Readings a gateway kept through an outage: older than what is stored, perhaps
        sent twice (QoS 1), each stored once in its own buckets of every tier."""
        self._late.extend(samples)
        if len(self._late) >= MAX_BATCH:
            self.flush()

    def pending(self) -> int:
        return len(self._buffer) + len(self._late)

    def flush(self) -> None:
        """Queue what was recorded for the disk, and the deletion by age when it is due."""
        batch, self._buffer = self._buffer, []
        late, self._late = self._late, []
        if batch or late:
            self.worker.spawn(lambda: self._logged(lambda: self._write(batch, late)))
        self.worker.spawn(lambda: self._logged(self._prune_if_due))

    def open(self) -> None:
        try:
            self.worker.apply(self._open)
        except sqlite3.Error as exc:
            raise StateFileError(
                f"{self.path} cannot be used as the history ({exc}); move it away to start "
                "a new one"
            ) from None

    def close(self) -> None:
        """Write what is left and close the file; waits for the disk thread."""
        self.flush()
        self.worker.apply(self._close)

    def query(
        self, key: SeriesKey, start: float, end: float, step: float | None, points: int
    ) -> Series:
        return self.worker.apply(lambda: self._query(key, start, end, step, points))

    def recent_readings(self, since: float, width: float) -> list[Recent]:
        """Per device and bucket of ``width`` since ``since``, the last reading (from the
        finest tier): what refills the sparklines at a restart. Oldest first per device."""
        return self.worker.apply(lambda: self._recent_readings(since, width))

    # On the disk thread -------------------------------------------------------
    def _logged(self, work: Callable[[], None]) -> None:
        """A failed write is logged and its batch lost; the next one starts from the file."""
        try:
            work()
        except (sqlite3.Error, OSError) as exc:
            log.error("history %s: %s", self.path, exc)

    def _open(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        # In WAL mode a crash of the process loses nothing committed; a power cut may lose
        # the last commits (seconds), never the file's consistency.
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
            "gateway TEXT NOT NULL, item TEXT NOT NULL, step INTEGER NOT NULL, "
            "last_ts REAL NOT NULL, UNIQUE (kind, gateway, item))"
        )
        for tier in self.tiers:
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {_table(tier)} (series INTEGER NOT NULL, "
                "start INTEGER NOT NULL, min REAL NOT NULL, max REAL NOT NULL, "
                "sum REAL NOT NULL, count INTEGER NOT NULL, last REAL NOT NULL, "
                "last_ts REAL NOT NULL, PRIMARY KEY (series, start)) WITHOUT ROWID"
            )
        # Every late reading stored, by its series and ts: a batch sent again (QoS 1 is at
        # least once) must not count twice. Live readings need none: they only go forward.
        db.execute(
            "CREATE TABLE IF NOT EXISTS late_seen (series INTEGER NOT NULL, ts REAL NOT NULL, "
            "PRIMARY KEY (series, ts)) WITHOUT ROWID"
        )
        self._load_series(db)
        self._db = db
        self._measure()

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _load_series(self, db: sqlite3.Connection) -> None:
        """Ids and latest stored ts, as in the file: bridges sharing a state dir share it."""
        for sid, kind, gateway, item, last_ts in db.execute(
            "SELECT id, kind, gateway, item, last_ts FROM series"
        ):
            self._ids[(kind, gateway, item)] = sid
            self._last_ts[sid] = last_ts

    def _series_id(self, db: sqlite3.Connection, key: SeriesKey, step: bool) -> int:
        sid = self._ids.get(key)
        if sid is None:
            (sid,) = db.execute(
                "INSERT INTO series (kind, gateway, item, step, last_ts) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT DO UPDATE SET step = step RETURNING id",
                (*key, int(step), -math.inf),
            ).fetchone()
            self._ids[key] = sid
            self._last_ts[sid] = -math.inf
        return int(sid)

    def _write(self, batch: list[Sample], late: list[Sample]) -> None:
        db = self._db
        if db is None:
            lost = len(batch) + len(late)
            log.warning("history %s is closed: %d samples not written", self.path, lost)
            return
        # IMMEDIATE: the write lock first, so that what _load_series reads stays true until
        # the commit even when another bridge writes the same file.
        db.execute("BEGIN IMMEDIATE")
        try:
            self._load_series(db)
            fresh: list[tuple[int, float, float]] = []
            last_ts = self._last_ts
            # Stored, a reading from a gateway whose clock runs far ahead would hold back
            # every later one of its series (below) until that time came.
            latest = self.clock() + MAX_AHEAD_S
            for key, ts, value, step in batch:
                sid = self._series_id(db, key, step)
                # A retained state comes again on every reconnect and restart: a reading no
                # newer than the latest stored is a repeat, and must not count twice.
                if ts <= last_ts[sid] or ts > latest:
                    self.skipped += 1
                    continue
                last_ts[sid] = ts
                fresh.append((sid, ts, value))
            fresh += self._fresh_late(db, late, latest)
            # Each tier from the one before: few aggregates instead of every reading again.
            buckets = roll_up_samples(fresh, self.tiers[0].width)
            for tier in self.tiers:
                if tier is not self.tiers[0]:
                    buckets = roll_up(((s, agg) for (s, _), agg in buckets.items()), tier.width)
                db.executemany(_upsert(tier), [_row(s, agg) for (s, _), agg in buckets.items()])
            touched = {sid for sid, _, _ in fresh}
            db.executemany(
                "UPDATE series SET last_ts = ? WHERE id = ?", [(last_ts[s], s) for s in touched]
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.written += len(fresh)
        self._measure()

    def _fresh_late(
        self, db: sqlite3.Connection, late: list[Sample], latest: float
    ) -> list[tuple[int, float, float]]:
        """The late readings not stored before, now marked stored (in the open transaction).

        They go into the buckets of their own ts, merged with what those buckets hold (the
        aggregates keep sums and counts: a minute rolled up before they came is merged, not
        recomputed). One newer than the latest stored moves that mark on, so that the same
        reading coming again as a retained state is a repeat.
        """
        fresh: list[tuple[int, float, float]] = []
        oldest = self.clock() - max(t.keep_s for t in self.tiers)
        last_ts = self._last_ts
        for key, ts, value, step in late:
            if not oldest <= ts <= latest:
                self.skipped += 1
                continue
            sid = self._series_id(db, key, step)
            seen = db.execute(
                "INSERT INTO late_seen (series, ts) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (sid, ts),
            )
            if seen.rowcount == 0:
                self.skipped += 1
                continue
            last_ts[sid] = max(last_ts[sid], ts)
            fresh.append((sid, ts, value))
        return fresh

    def _prune_if_due(self) -> None:
        now = self.clock()
        # Often enough that no tier holds much more than its retention; at most once a minute.
        every = min(60.0, min(t.keep_s for t in self.tiers) / 4)
        if self._db is None or now - self._pruned_at < every:
            return
        self._pruned_at = now
        with self._db:
            for tier in self.tiers:
                cutoff = now - tier.keep_s
                # Per series: each delete walks the primary key, never the whole table.
                self._db.executemany(
                    f"DELETE FROM {_table(tier)} WHERE series = ? AND start < ?",
                    [(sid, cutoff) for sid in self._ids.values()],
                )
            # Kept as long as any tier holds the readings it guards.
            cutoff = now - max(t.keep_s for t in self.tiers)
            self._db.executemany(
                "DELETE FROM late_seen WHERE series = ? AND ts < ?",
                [(sid, cutoff) for sid in self._ids.values()],
            )
        self._measure()

    def _measure(self) -> None:
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(FileNotFoundError):
                total += Path(f"{self.path}{suffix}").stat().st_size
        self.size_bytes = total

    def _query(
        self, key: SeriesKey, start: float, end: float, step: float | None, points: int
    ) -> Series:
        asked = effective_step(start, end, step, points)
        tier = choose_tier(self.tiers, start, asked, self.clock())
        # No finer than the tier: points between its buckets would only be misplaced.
        width = max(asked, tier.width)
        db = self._db
        sid = self._ids.get(key)
        if db is None or sid is None:
            return Series(start, end, width, tier.name, key[0] == "relay", [], recorded=False)
        (is_step,) = db.execute("SELECT step FROM series WHERE id = ?", (sid,)).fetchone()
        rows = db.execute(
            f"SELECT start, min, max, sum, count, last, last_ts FROM {_table(tier)} "
            "WHERE series = ? AND start >= ? AND start < ? ORDER BY start",
            (sid, bucket_start(start, tier.width), end),
        )
        # A tier bucket that began before ``start`` counts in the first point.
        aggs = ((sid, Aggregate(*row)._replace(start=max(row[0], start))) for row in rows)
        buckets = sorted(roll_up(aggs, width, origin=start).values(), key=lambda a: a.start)
        out = [[a.start, a.min, a.avg, a.max, a.last] for a in buckets]
        if is_step and (not out or out[0][0] > start):
            held = self._level_before(db, sid, start)
            if held is not None:
                out.insert(0, [start, held, held, held, held])
        return Series(start, end, width, tier.name, bool(is_step), out)

    def _recent_readings(self, since: float, width: float) -> list[Recent]:
        if self._db is None:
            return []
        # SQLite takes the bare columns of a max() aggregate from the row holding the max.
        rows = self._db.execute(
            f"SELECT s.gateway, s.item, max(t.last_ts), t.last, s.step "
            f"FROM {_table(self.tiers[0])} AS t JOIN series AS s ON s.id = t.series "
            "WHERE s.kind = 'device' AND t.start >= ? "
            "GROUP BY t.series, CAST(t.start / ? AS INTEGER) ORDER BY t.series, 3",
            (math.floor(since), width),
        )
        return [
            Recent(gw, item, ts, bool(value) if step else value)
            for gw, item, ts, value, step in rows
        ]

    def _level_before(self, db: sqlite3.Connection, sid: int, start: float) -> float | None:
        """The last level before ``start``, from whichever tier still holds it."""
        best: tuple[float, float] | None = None
        for tier in self.tiers:
            row = db.execute(
                f"SELECT last_ts, last FROM {_table(tier)} WHERE series = ? AND start < ? "
                "ORDER BY start DESC LIMIT 1",
                (sid, bucket_start(start, tier.width)),
            ).fetchone()
            if row is not None and (best is None or row[0] > best[0]):
                best = (row[0], row[1])
        return None if best is None else best[1]


def _table(tier: Tier) -> str:
    return f"tier_{tier.name}"


def _upsert(tier: Tier) -> str:
    # The SQL twin of Aggregate.merged: in SQLite's SET, every column read is the old row's.
    return (
        f"INSERT INTO {_table(tier)} (series, start, min, max, sum, count, last, last_ts) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (series, start) DO UPDATE SET "
        "min = min(min, excluded.min), max = max(max, excluded.max), "
        "sum = sum + excluded.sum, count = count + excluded.count, "
        "last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END, "
        "last_ts = max(last_ts, excluded.last_ts)"
    )


def _row(sid: int, agg: Aggregate) -> tuple[int, int, float, float, float, int, float, float]:
    return (sid, int(agg.start), agg.min, agg.max, agg.sum, agg.samples, agg.last, agg.last_ts)


# --------------------------------------------------------------------------- the HTTP query


def _seconds(value: object) -> object:
    """Unix seconds, or ISO 8601 (a time without offset is UTC)."""
    if not isinstance(value, str):
        return value
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither unix seconds nor an ISO 8601 time (2026-01-31T08:00:00Z)"
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


Time = Annotated[float, BeforeValidator(_seconds), Field(allow_inf_nan=False, ge=0)]


class HistoryQuery(BaseModel):
    """``from``/``to`` (default: the last hour), ``step`` in seconds (default: what ``points``
    allows), at most ``points`` buckets, ``format`` json or csv."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    start: Time | None = Field(default=None, alias="from")
    end: Time | None = Field(default=None, alias="to")
    step: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    points: Annotated[int, Field(ge=1, le=MAX_POINTS)] = DEFAULT_POINTS
    format: Literal["json", "csv"] = "json"

    def span(self, now: float) -> tuple[float, float]:
        end = self.end if self.end is not None else now
        start = self.start if self.start is not None else end - 3600
        return start, end


RANGE_PARAMETERS: Final = frozenset({"from", "to", "step", "points", "format"})


def parse_history_query(args: Mapping[str, str], now: float) -> HistoryQuery | str:
    """The query, or one message naming every bad parameter (or a backwards range)."""
    try:
        query = HistoryQuery.model_validate(dict(args))
    except ValidationError as exc:
        return describe_validation_error(exc)
    start, end = query.span(now)
    if not start < end:
        return f"from ({_iso(start)}) must be before to ({_iso(end)})"
    return query


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def series_json(key: str, series: Series) -> dict[str, Any]:
    return {
        "key": key,
        "from": series.start,
        "to": series.end,
        "step": series.step,
        "tier": series.tier,
        "step_series": series.step_series,
        "columns": list(COLUMNS),
        "points": series.points,
    }


def series_csv(series: Series) -> str:
    lines = ["time,ts,min,avg,max,last"]
    for ts, lo, avg, hi, last in series.points:
        lines.append(f"{_iso(ts)},{ts!r},{lo!r},{avg!r},{hi!r},{last!r}")
    return "\r\n".join(lines) + "\r\n"
