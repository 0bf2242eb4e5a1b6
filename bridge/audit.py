"""The audit log of relay commands: one JSON line per command, appended and fsync'd before the
caller gets its answer, so it survives a crash or restart. Refused commands are logged too."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.files import ensure_private_dir
from factory_core.contract import describe_validation_error

log = logging.getLogger(__name__)
T = TypeVar("T")

FIELDS: Final = (
    "time", "ts", "user", "role", "via", "remote", "gateway", "relay", "on",
    "outcome", "ok", "id", "detail",
)  # fmt: skip
_MAX_TEXT = 200


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

    def to_dict(self) -> dict[str, Any]:
        time = datetime.fromtimestamp(self.ts, UTC).isoformat(timespec="milliseconds")
        return {"time": time.replace("+00:00", "Z"), **asdict(self)}


def text_or_none(value: object) -> str | None:
    """What a client sent in a field, cut short, for the log (it may be junk)."""
    if value is None:
        return None
    return (value if isinstance(value, str) else repr(value))[:_MAX_TEXT]


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
