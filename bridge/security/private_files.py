"""Small private files in the bridge's state dir: written atomically, mode 0600, re-read when
another process (the ``factory-bridge users`` CLI, a second bridge) changed them."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class StateFileError(Exception):
    """A state file exists but cannot be used; the message names the file."""


def ensure_private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: readers see the old or the new file, never half of one."""
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_json(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise StateFileError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise StateFileError(f"{path} must hold a JSON object, not {type(data).__name__}")
    return data


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of ``path`` between processes sharing the state dir."""
    ensure_private_dir(path.parent)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class JsonFile:
    """One JSON object on disk, cached until the file's mtime/size/inode changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._data: dict[str, Any] = {}

    def read(self) -> dict[str, Any]:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            self._stamp, self._data = None, {}
            return self._data
        if stamp != self._stamp:
            self._data, self._stamp = read_json(self.path), stamp
        return self._data

    def update(self, change: Callable[[dict[str, Any]], None]) -> None:
        with locked(self.path):
            data = read_json(self.path)
            change(data)
            write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True).encode())
        self._stamp = None


def secret_file(path: Path) -> str:
    """The secret kept in ``path``, created (0600) on first use."""
    with locked(path):
        if not path.exists():
            write_atomic(path, secrets.token_hex(32).encode())
        secret = path.read_text().strip()
    if len(secret) < 32:
        raise StateFileError(f"{path} holds a secret shorter than 32 characters; delete it")
    return secret
