"""Ids of executed commands, kept on disk so that none runs twice, also across a restart.

An id is appended (and fsynced) *before* its pin moves: a crash between switching and
answering then leaves the id recorded, and the redelivered command is answered ``duplicate``.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path


class CommandLog:
    def __init__(self, path: Path, capacity: int = 10_000) -> None:
        self.path = path
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lines = 0
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                if line:
                    self._remember(line)
                    self._lines += 1

    def _remember(self, command_id: str) -> None:
        self._ids[command_id] = None
        self._ids.move_to_end(command_id)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)

    def __contains__(self, command_id: str) -> bool:
        with self._lock:
            return command_id in self._ids

    def record(self, command_id: str) -> None:
        """Remember ``command_id`` durably; raises OSError if it cannot be written."""
        with self._lock:
            with self.path.open("a") as f:
                f.write(command_id + "\n")
                f.flush()
                os.fsync(f.fileno())
            self._remember(command_id)
            self._lines += 1
            if self._lines > 2 * self.capacity:
                self._compact()

    def _compact(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(f"{cid}\n" for cid in self._ids))
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        tmp.replace(self.path)
        self._lines = len(self._ids)
