"""What each relay keeps across restarts: its maintenance lock and its wear (switching cycles
and on-time). One JSON file in the state directory, replaced atomically and fsynced, like the
command log: a lock that a restart forgot would be a lock nobody can trust.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from factory_core.contract import RelayLock

log = logging.getLogger(__name__)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    lock: RelayLock | None = None
    cycles: int = Field(default=0, ge=0)
    on_time_s: float = Field(default=0.0, ge=0)


class _File(BaseModel):
    relays: dict[str, _Entry] = Field(default_factory=dict)


@dataclass
class Wear:
    """Switching cycles (off to on) and on-time of one relay; ``on_since`` is monotonic."""

    cycles: int = 0
    on_time_s: float = 0.0
    on_since: float | None = None

    def switched(self, on: bool, mono: float) -> None:
        if on and self.on_since is None:
            self.cycles += 1
            self.on_since = mono
        elif not on and self.on_since is not None:
            self.on_time_s += max(0.0, mono - self.on_since)
            self.on_since = None

    def total_on_time(self, mono: float) -> float:
        running = 0.0 if self.on_since is None else max(0.0, mono - self.on_since)
        return self.on_time_s + running


class RelayLedger:
    """``path`` None: kept in memory only (a controller under test that needs no restart)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.locks: dict[str, RelayLock] = {}
        self.wear: dict[str, Wear] = {}
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            try:
                data = _File.model_validate_json(path.read_bytes())
            except (OSError, ValidationError) as exc:
                # Refusing to start would leave every relay uncontrolled; say so loudly.
                log.error("cannot read %s, starting with no locks and zero wear: %s", path, exc)
                data = _File()
            for relay, entry in data.relays.items():
                if entry.lock is not None:
                    self.locks[relay] = entry.lock
                self.wear[relay] = Wear(entry.cycles, entry.on_time_s)

    def wear_of(self, relay: str) -> Wear:
        return self.wear.setdefault(relay, Wear())

    def save(self, mono: float) -> None:
        """Write everything durably; raises OSError if it cannot be written."""
        if self.path is None:
            return
        with self._lock:
            relays = {
                r: _Entry(lock=self.locks.get(r), cycles=w.cycles, on_time_s=w.total_on_time(mono))
                for r, w in self.wear.items()
            }
            for r, lock in self.locks.items():
                relays.setdefault(r, _Entry(lock=lock))
            text = json.dumps(_File(relays=relays).model_dump(mode="json"), indent=1)
            tmp = self.path.with_suffix(".tmp")
            with tmp.open("w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(self.path)
