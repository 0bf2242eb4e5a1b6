"""The plant's event log for operators: what happened, readable by everyone with a login.

Alarm transitions (raised, acknowledged and by whom, cleared, shelved and why), commands
(who, what, outcome), gateways going online, offline or silent, and the bridge's own starts
and stops. Kept in SQLite in the bridge's state dir, written in batches on its own disk thread
(never on the gevent loop), pruned to ``keep_s``. The admin-only audit log is separate.

``EventWatch`` (pure) turns the store's deltas into events; ``EventLog`` is the I/O.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.contract import EventKind, EventLogEntry, EventLogPage
from bridge.security.audit import AuditEntry, DiskWorker
from bridge.state.store import GATEWAY_SOURCE, Delta, Entry
from factory_core.contract import describe_validation_error

DB_NAME: Final = "events.sqlite3"
Kind: TypeAlias = EventKind
KINDS: Final = ("alarm", "command", "gateway", "bridge")
CSV_FIELDS: Final = ("time", "ts", "kind", "gateway", "subject", "action", "user", "text")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    gateway TEXT,
    subject TEXT,
    action TEXT NOT NULL,
    user TEXT,
    text TEXT NOT NULL,
    -- one transition is logged once, however often it is seen (a restart re-reads retained
    -- alarms; bridges may share a state dir)
    dedupe TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
"""


@dataclass(frozen=True, slots=True)
class Event:
    ts: float
    kind: Kind
    action: str  # raised, acknowledged, cleared, normal, shelved, unshelved, online, ...
    text: str
    gateway: str | None = None
    subject: str | None = None  # "temperature/hi", "relay_1", ...
    user: str | None = None
    dedupe: str | None = None


# --------------------------------------------------------------------------- pure


_ALARM_ACTIONS: Final[dict[str, str]] = {
    "unacked": "raised",
    "acked": "acknowledged",
    "rtn_unacked": "cleared",
    "normal": "normal",
}


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class EventWatch:
    """Remembers the last phase of every alarm and gateway and names each change."""

    def __init__(self) -> None:
        self._alarms: dict[str, tuple[str, float | None]] = {}
        self._gateways: dict[str, str] = {}

    def events(self, deltas: list[Delta], now: float) -> list[Event]:
        out: list[Event] = []
        for delta in deltas:
            if delta.event == "alarms_update":
                for key, entry in delta.items.items():
                    if entry is None:  # removed from the gateway's config: nothing happened
                        self._alarms.pop(key, None)
                    else:
                        out += self._alarm(key, entry, now)
            elif delta.event == "gateways_update":
                for gw, gateway in delta.items.items():
                    if gateway is not None:
                        out += self._gateway(gw, gateway, now)
        return out

    def _alarm(self, key: str, e: Entry, now: float) -> list[Event]:
        state, shelf = e["state"], e.get("shelved_until")
        before = self._alarms.get(key)
        self._alarms[key] = (state, shelf)
        subject = f"{e['source']}/{e['condition']}"
        what = e.get("message") or subject
        out: list[Event] = []
        if (before is None and state != "normal") or (before is not None and before[0] != state):
            action = _ALARM_ACTIONS[state]
            user = e.get("acked_by") if state == "acked" else None
            by = f" by {user}" if user else ""
            text = f"{e['priority']} alarm {action}{by}: {what}"
            if e.get("suppressed"):
                text += " (suppressed: its gateway is offline or silent)"
            when = e.get("since") or now
            out.append(
                Event(
                    when,
                    "alarm",
                    action,
                    text,
                    e["gateway"],
                    subject,
                    user,
                    f"alarm:{key}:{state}:{when}",
                )
            )
        if shelf is not None and (before is None or before[1] != shelf):
            reason = e.get("shelve_reason") or ""
            user = e.get("shelved_by")
            text = f"alarm shelved until {_utc(shelf)} by {user}: {what} ({reason})"
            out.append(
                Event(
                    now,
                    "alarm",
                    "shelved",
                    text,
                    e["gateway"],
                    subject,
                    user,
                    f"shelf:{key}:{shelf}",
                )
            )
        elif shelf is None and before is not None and before[1] is not None:
            out.append(
                Event(
                    now,
                    "alarm",
                    "unshelved",
                    f"alarm back from the shelf: {what}",
                    e["gateway"],
                    subject,
                )
            )
        return out

    def _gateway(self, gw: str, e: Entry, now: float) -> list[Event]:
        status = e["status"]
        before = self._gateways.get(gw)
        self._gateways[gw] = status
        if before == status or (before is None and status == "online"):
            return []
        name = e.get("name") or gw
        text = f"gateway {name} is {status}"
        if status == "silent" and e.get("silent_since"):
            text += f" (nothing received since {_utc(e['silent_since'])})"
        return [Event(now, "gateway", status, text, gw, GATEWAY_SOURCE)]


def command_event(entry: AuditEntry) -> Event | None:
    """A command as the event log tells it; refusals merged from a flood are left to the
    audit log (they are an attacker's rate, not what happened to the plant)."""
    if entry.count > 1:
        return None
    who = entry.user or "nobody"
    subject: str | None
    action: str | None
    if entry.action in ("out_of_service", "return_to_service"):
        device = (entry.alarm or "?").partition("/")[0]
        what = f"{entry.action.replace('_', ' ')}: {entry.gateway}/{device}"
        if entry.action == "out_of_service" and entry.reason:
            what += f" ({entry.reason})"  # why, for everyone who reads the log
        subject, action = device, entry.action
    elif entry.alarm is not None:
        what = f"{entry.action} alarm {entry.alarm} of {entry.gateway}"
        subject, action = entry.alarm, entry.action
    elif entry.action in ("lock", "unlock"):
        what = f"{entry.action} {entry.gateway}/{entry.relay}"
        subject, action = entry.relay, entry.action
    elif entry.action == "all_to_safe":
        what = f"all to safe: {entry.gateway or 'the plant'}"
        subject, action = None, entry.action
    else:
        on = {True: "on", False: "off", None: "?"}[entry.on]
        what = f"switch {entry.gateway}/{entry.relay} {on}"
        subject, action = entry.relay, f"switch_{on}"
    outcome = "done" if entry.ok else f"refused: {entry.outcome}"
    detail = f" ({entry.detail})" if entry.detail and not entry.ok else ""
    return Event(
        entry.ts, "command", action or "command", f"{who}: {what}: {outcome}{detail}",
        entry.gateway, subject, entry.user,
    )  # fmt: skip


class EventQuery(BaseModel):
    """The filters and paging of ``/api/event-log`` and ``/api/event-log.csv``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gateway: Annotated[str, Field(max_length=64)] | None = None
    kind: Kind | None = None
    since: Annotated[float, Field(allow_inf_nan=False)] | None = None
    until: Annotated[float, Field(allow_inf_nan=False)] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0)] = 0


def parse_event_query(args: Mapping[str, Any]) -> EventQuery | str:
    try:
        return EventQuery.model_validate(dict(args))
    except ValidationError as exc:
        return describe_validation_error(exc)


# --------------------------------------------------------------------------- I/O


class EventLog:
    def __init__(
        self, path: Path, worker: DiskWorker, clock: Callable[[], float], keep_s: float
    ) -> None:
        self.path = path
        self.worker = worker
        self.clock = clock
        self.keep_s = keep_s
        self.watch = EventWatch()
        self._listeners: list[Callable[[list[EventLogEntry]], None]] = []
        self._pending: list[Event] = []
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # the connection is used on the disk thread only

    def open(self) -> None:
        self.worker.apply(self._open)

    def _open(self) -> None:
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        db.executescript(_SCHEMA)
        self._db = db
        self._prune()

    def listen(self, listener: Callable[[list[EventLogEntry]], None]) -> None:
        """Told of the entries each flush wrote (oldest first; a repeat, ignored by its
        dedupe key, is not among them), on the flushing greenlet."""
        self._listeners.append(listener)

    def add(self, events: list[Event]) -> None:
        """Queued; written on the disk thread at the next ``flush``."""
        self._pending.extend(events)

    def observe(self, deltas: list[Delta]) -> None:
        self.add(self.watch.events(deltas, self.clock()))

    def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        written = self.worker.apply(lambda: self._write(batch))
        if written:
            for listener in self._listeners:
                listener(written)

    def prune(self) -> None:
        self.worker.apply(self._prune)

    def close(self) -> None:
        self.flush()
        self.worker.apply(self._close)

    def query(self, q: EventQuery) -> EventLogPage:
        self.flush()  # what happened a moment ago is part of the answer
        return self.worker.apply(lambda: self._query(q))

    def csv(self, q: EventQuery) -> str:
        self.flush()
        rows = self.worker.apply(lambda: self._query(q, paged=False))["entries"]
        out = io.StringIO()
        writer = csv.DictWriter(out, CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()

    # On the disk thread -------------------------------------------------------

    def _write(self, batch: list[Event]) -> list[EventLogEntry]:
        written: list[EventLogEntry] = []
        with self._lock:
            assert self._db is not None
            with self._db:
                for e in batch:
                    cursor = self._db.execute(
                        "INSERT OR IGNORE INTO events (ts, kind, gateway, subject, action, user, "
                        "text, dedupe) VALUES (:ts, :kind, :gateway, :subject, :action, :user, "
                        ":text, :dedupe)",
                        asdict(e),
                    )
                    if cursor.rowcount == 1 and cursor.lastrowid is not None:
                        row = (cursor.lastrowid, e.ts, e.kind, e.gateway, e.subject, e.action)
                        written.append(_entry((*row, e.user, e.text)))
        return written

    def _prune(self) -> None:
        with self._lock:
            assert self._db is not None
            with self._db:
                self._db.execute("DELETE FROM events WHERE ts < ?", (self.clock() - self.keep_s,))

    def _close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _query(self, q: EventQuery, paged: bool = True) -> EventLogPage:
        where, params = ["1 = 1"], []
        for column in ("gateway", "kind"):
            value = getattr(q, column)
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if q.since is not None:
            where.append("ts >= ?")
            params.append(q.since)
        if q.until is not None:
            where.append("ts < ?")
            params.append(q.until)
        condition = " AND ".join(where)
        with self._lock:
            assert self._db is not None
            total = self._db.execute(
                f"SELECT COUNT(*) FROM events WHERE {condition}", params
            ).fetchone()[0]
            page = " LIMIT ? OFFSET ?" if paged else ""
            args = [*params, q.limit, q.offset] if paged else params
            rows = self._db.execute(
                "SELECT id, ts, kind, gateway, subject, action, user, text FROM events "
                f"WHERE {condition} ORDER BY ts DESC, id DESC{page}",
                args,
            ).fetchall()
        entries = [_entry(r) for r in rows]
        following = q.offset + len(entries)
        next_offset = following if paged and following < total else None
        return {"entries": entries, "total": total, "offset": q.offset, "next_offset": next_offset}


def _entry(row: tuple[Any, ...]) -> EventLogEntry:
    """A row ``(id, ts, kind, gateway, subject, action, user, text)`` as the API gives it."""
    id_, ts, kind, gateway, subject, action, user, text = row
    time = datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
    return {
        "id": id_, "time": time.replace("+00:00", "Z"), "ts": ts, "kind": kind,
        "gateway": gateway, "subject": subject, "action": action, "user": user, "text": text,
    }  # fmt: skip
