"""The audit log of relay commands: one JSON line per command, appended and fsync'd on the disk
thread, so it survives a crash or restart. Refused commands are logged too; a flood of refusals
is merged per window (``RefusalWindows``) and its count written when the window closes."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.security.private_files import ensure_private_dir
from factory_core.contract import describe_validation_error

log = logging.getLogger(__name__)
T = TypeVar("T")

FIELDS: Final = (
    "time", "ts", "user", "role", "via", "remote", "gateway", "relay", "on",
    "outcome", "ok", "id", "detail", "count", "action", "confirmed", "alarm",
)  # fmt: skip
_MAX_TEXT = 200
FLOOD_WINDOW_S: Final = 10.0
# Refusals a caller can repeat at any rate: the command rate limit itself, and the HTTP gate's
# refusals, which come before the rate limit (a foreign page must not spend a victim's budget).
FLOODABLE: Final = frozenset({"rate_limited", "csrf_failed", "forbidden_origin"})


@dataclass(frozen=True, slots=True)
class AuditEntry:
    ts: float
    user: str | None  # "alice", "token:scada", or None when nobody was authenticated
    role: str | None
    via: str  # "socketio" or "http"
    remote: str | None
    gateway: str | None
    relay: str | None
    on: bool | None  # the requested state (None when the request did not say)
    outcome: str  # "ok" or the error code
    ok: bool
    id: str | None  # the command id when it was published
    detail: str | None
    count: int = 1  # how many commands this entry stands for: more than 1 for a merged flood
    # set_relay, lock, unlock, all_to_safe; an alarm command's acknowledge, shelve, unshelve,
    # out_of_service or return_to_service
    action: str = "set_relay"
    confirmed: bool | None = None  # set_relay: the operator confirmed it in the dashboard
    alarm: str | None = None  # an alarm command's "<source>/<condition>"
    reason: str | None = None  # the reason given (a lock, a shelf, out of service), cut short

    def to_dict(self) -> dict[str, Any]:
        time = datetime.fromtimestamp(self.ts, UTC).isoformat(timespec="milliseconds")
        return {"time": time.replace("+00:00", "Z"), **asdict(self)}


def text_or_none(value: object) -> str | None:
    """What a client sent in a field, cut short, for the log (it may be junk)."""
    if value is None:
        return None
    return (value if isinstance(value, str) else repr(value))[:_MAX_TEXT]


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S.%f")[:-3]


@dataclass(slots=True)
class _Window:
    closes: float  # monotonic seconds
    first_ts: float = 0.0  # wall time of the first merged refusal
    held: AuditEntry | None = None  # the refusals since the window opened, merged


class RefusalWindows:
    """Which refusal entries to write, and when (pure: the caller passes the monotonic time).

    Per caller, way in (``via``) and outcome in ``FLOODABLE``: the first refusal is written at
    once and opens a window of ``window_s``; those that follow in it are merged into one entry
    whose ``count`` says how many it stands for, written when the window closes (``close_due``,
    driven by a timer; ``close_all`` on shutdown), whether or not another refusal follows. A
    window that closes with a count opens the next one, so a steady flood is one entry per
    window; one that closes empty is forgotten. Fields the merged refusals disagree on (relay,
    remote address...) are null in the merged entry.
    """

    def __init__(self, window_s: float = FLOOD_WINDOW_S) -> None:
        self.window_s = window_s
        self._windows: dict[tuple[str, str, str], _Window] = {}

    def offer(self, entry: AuditEntry, now: float) -> list[AuditEntry]:
        """The entries to write now: none when this one is held for its window's merged entry."""
        if entry.user is None or entry.outcome not in FLOODABLE:
            return [entry]
        key = (entry.user, entry.via, entry.outcome)
        window = self._windows.get(key)
        written = []
        if window is not None and now >= window.closes:  # the timer has not closed it yet
            written = self._close(key, window, now)
            window = self._windows.get(key)
        if window is None:
            self._windows[key] = _Window(now + self.window_s)
            return [*written, entry]
        if window.held is None:
            window.first_ts, window.held = entry.ts, entry
        else:
            window.held = _merge(window.held, entry)
        return written

    def next_close(self) -> float | None:
        return min((w.closes for w in self._windows.values()), default=None)

    def close_due(self, now: float) -> list[AuditEntry]:
        """The merged entries of the windows closed by ``now``."""
        return [
            written
            for key, window in list(self._windows.items())
            if now >= window.closes
            for written in self._close(key, window, now)
        ]

    def _close(self, key: tuple[str, str, str], window: _Window, now: float) -> list[AuditEntry]:
        if window.held is None:
            del self._windows[key]
            return []
        self._windows[key] = _Window(now + self.window_s)
        return [_summary(window.held, window.first_ts)]

    def close_all(self) -> list[AuditEntry]:
        """Every merged entry still held (the bridge is stopping)."""
        held = [(w.held, w.first_ts) for w in self._windows.values() if w.held is not None]
        self._windows.clear()
        return [_summary(entry, first_ts) for entry, first_ts in held]


def _merge(held: AuditEntry, entry: AuditEntry) -> AuditEntry:
    def same(a: T, b: T) -> T | None:
        return a if a == b else None

    return replace(
        entry,
        remote=same(held.remote, entry.remote),
        gateway=same(held.gateway, entry.gateway),
        relay=same(held.relay, entry.relay),
        on=same(held.on, entry.on),
        count=held.count + entry.count,
    )


def _summary(merged: AuditEntry, first_ts: float) -> AuditEntry:
    span = f"{_utc(first_ts)}-{_utc(merged.ts)} UTC" if merged.count > 1 else _utc(merged.ts)
    detail = f"{merged.count} x {merged.outcome} ({span}), the last: {merged.detail}"
    return replace(merged, detail=text_or_none(detail))


class AuditQuery(BaseModel):
    """The filters and paging of ``/api/audit`` and ``/api/audit.csv``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    user: Annotated[str, Field(max_length=_MAX_TEXT)] | None = None
    gateway: Annotated[str, Field(max_length=_MAX_TEXT)] | None = None
    relay: Annotated[str, Field(max_length=_MAX_TEXT)] | None = None
    outcome: Annotated[str, Field(max_length=64)] | None = None
    since: Annotated[float, Field(allow_inf_nan=False)] | None = None
    until: Annotated[float, Field(allow_inf_nan=False)] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0)] = 0

    def matches(self, entry: Mapping[str, Any]) -> bool:
        for name in ("user", "gateway", "relay", "outcome"):
            wanted = getattr(self, name)
            if wanted is not None and entry.get(name) != wanted:
                return False
        ts = entry.get("ts")
        if not isinstance(ts, int | float):
            return False
        return (self.since is None or ts >= self.since) and (self.until is None or ts < self.until)


def parse_audit_query(args: Mapping[str, str]) -> AuditQuery | str:
    """The query, or a message naming each bad parameter."""
    try:
        return AuditQuery.model_validate(dict(args))
    except ValidationError as exc:
        return describe_validation_error(exc)


class DiskWorker(Protocol):
    """Where file work runs: one thread in the server (gevent's ThreadPool(1)), so that an
    fsync stalls no push and no operator, and a read always sees every earlier write."""

    def spawn(self, func: Callable[[], None]) -> object: ...
    def apply(self, func: Callable[[], T]) -> T: ...


class _Inline:
    def spawn(self, func: Callable[[], None]) -> object:
        func()
        return None

    def apply(self, func: Callable[[], T]) -> T:
        return func()


class AuditLog:
    def __init__(self, path: Path, worker: DiskWorker | None = None) -> None:
        self.path = path
        # Not `worker or ...`: a gevent ThreadPool with no task running is falsy.
        self.worker: DiskWorker = worker if worker is not None else _Inline()

    def append(self, entry: AuditEntry) -> None:
        """Queue the entry; the caller's answer does not wait for the disk."""
        self.worker.spawn(lambda: self._write_logged(entry))

    def flush(self) -> None:
        """Wait until every entry queued so far is written (the worker runs them in order)."""
        self.worker.apply(lambda: None)

    def _write_logged(self, entry: AuditEntry) -> None:
        try:
            self._write(entry)
        except OSError as exc:
            log.error("audit log %s: entry not written: %s; entry %s", self.path, exc, entry)

    def _write(self, entry: AuditEntry) -> None:
        line = json.dumps(entry.to_dict(), separators=(",", ":")) + "\n"
        ensure_private_dir(self.path.parent)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())  # one write: lines of two bridges never interleave
            os.fsync(fd)
        finally:
            os.close(fd)

    def _entries(self) -> Iterator[dict[str, Any]]:
        try:
            with self.path.open("rb") as lines:
                for number, raw in enumerate(lines, 1):
                    try:
                        entry = json.loads(raw)
                    except ValueError:
                        entry = None
                    if isinstance(entry, dict):
                        entry.setdefault("count", 1)  # written before entries had a count
                        yield entry
                    elif raw.strip():
                        log.warning("%s line %d is not a JSON object; skipped", self.path, number)
        except FileNotFoundError:
            return

    def query(self, query: AuditQuery) -> dict[str, Any]:
        """One page, newest first, and how many entries match in all."""
        return self.worker.apply(lambda: self._query(query))

    def _query(self, query: AuditQuery) -> dict[str, Any]:
        matched = [e for e in self._entries() if query.matches(e)]
        matched.reverse()
        page = matched[query.offset : query.offset + query.limit]
        end = query.offset + len(page)
        return {
            "entries": page,
            "total": len(matched),
            "offset": query.offset,
            "limit": query.limit,
            "next_offset": end if end < len(matched) else None,
        }

    def csv(self, query: AuditQuery) -> str:
        """Every matching entry (paging ignored), oldest first, as CSV."""
        return self.worker.apply(lambda: self._csv(query))

    def _csv(self, query: AuditQuery) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(FIELDS)
        for entry in self._entries():
            if query.matches(entry):
                writer.writerow([_cell(entry.get(name)) for name in FIELDS])
        return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A spreadsheet would run a cell starting like a formula; client-sent text could be one.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
