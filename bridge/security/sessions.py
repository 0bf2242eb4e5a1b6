"""Login sessions, kept server-side in ``sessions.json`` so that logout really ends one (a
copied cookie is dead afterwards) and a restart does not log everybody out.

The cookie carries only the session id (signed by Flask); the file keys sessions by the id's
SHA-256, so reading the file does not give anyone a usable cookie.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.security.private_files import JsonFile


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    user: str
    csrf: str
    created: float
    expires: float


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    def __init__(self, path: Path, lifetime: float, clock: Callable[[], float] = time.time) -> None:
        self._file = JsonFile(path)
        self.lifetime = lifetime
        self.clock = clock

    def create(self, user: str) -> Session:
        now = self.clock()
        session = Session(
            secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), now, now + self.lifetime
        )

        def add(data: dict[str, Any]) -> None:
            for key in [k for k, v in data.items() if _expired(v, now)]:
                del data[key]
            data[_key(session.id)] = {
                "user": user,
                "csrf": session.csrf,
                "created": now,
                "expires": session.expires,
            }

        self._file.update(add)
        return session

    def get(self, session_id: str) -> Session | None:
        if not session_id or len(session_id) > 128:
            return None
        entry = self._file.read().get(_key(session_id))
        if not isinstance(entry, dict) or _expired(entry, self.clock()):
            return None
        return Session(session_id, entry["user"], entry["csrf"], entry["created"], entry["expires"])

    def end(self, session_id: str) -> None:
        self._file.update(lambda data: data.pop(_key(session_id), None))

    def end_user(self, user: str) -> None:
        def drop(data: dict[str, Any]) -> None:
            for key in [
                k for k, v in data.items() if isinstance(v, dict) and v.get("user") == user
            ]:
                del data[key]

        self._file.update(drop)


def _expired(entry: Any, now: float) -> bool:
    return not isinstance(entry, dict) or float(entry.get("expires", 0)) <= now
