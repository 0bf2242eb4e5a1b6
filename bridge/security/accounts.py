"""Users (name, role, scrypt password hash) and API tokens (name, role, SHA-256 of the secret),
kept in ``users.json`` and ``tokens.json`` in the bridge's state dir.

Tokens are 256 random bits, so a fast hash is enough to make a stolen file useless; passwords
are chosen by people, so they get scrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, get_args

from werkzeug.security import check_password_hash, generate_password_hash

from bridge.security.private_files import JsonFile

Role: TypeAlias = Literal["viewer", "operator", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
Action: TypeAlias = Literal["read", "set_relay", "handle_alarm", "audit"]

PERMISSIONS: Final[dict[Role, frozenset[Action]]] = {
    "viewer": frozenset({"read"}),
    "operator": frozenset({"read", "set_relay", "handle_alarm"}),
    "admin": frozenset({"read", "set_relay", "handle_alarm", "audit"}),
}
NAME_PATTERN: Final = r"[a-z0-9][a-z0-9_.-]{0,31}"
MIN_PASSWORD: Final = 8
MAX_PASSWORD: Final = 1024
TOKEN_PREFIX: Final = "fiot_"
_NAME = re.compile(NAME_PATTERN)


def can(role: Role, action: Action) -> bool:
    return action in PERMISSIONS[role]


class AccountError(ValueError):
    """A bad name, role or password, or an unknown/duplicate account; says which."""


def check_name(name: str, what: str = "user name") -> str:
    if not _NAME.fullmatch(name):
        raise AccountError(
            f"{what} {name!r} must be 1-32 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise AccountError(f"role {role!r} must be one of {', '.join(ROLES)}")


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(
            f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters "
            f"(got {len(password)})"
        )
    return password


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: Role
    created: float


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16), method="scrypt")


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _account(name: str, entry: Any) -> Account | None:
    if not isinstance(entry, dict) or entry.get("role") not in ROLES:
        return None
    return Account(name, entry["role"], float(entry.get("created", 0)))


# (hash, password) -> whether they match. The bridge runs it on a thread (``app.py``).
PasswordCheck: TypeAlias = Callable[[str, str], bool]


class Accounts:
    def __init__(
        self,
        state_dir: Path,
        clock: Any = time.time,
        password_check: PasswordCheck = check_password_hash,
    ) -> None:
        self.state_dir = state_dir
        self.clock = clock
        self._password_check = password_check
        self._users = JsonFile(state_dir / "users.json")
        self._tokens = JsonFile(state_dir / "tokens.json")

    # Users -----------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str) -> Account:
        check_name(name)
        valid_role = check_role(role)
        check_password(password)
        hashed = generate_password_hash(password, method="scrypt")
        created = self.clock()

        def add(data: dict[str, Any]) -> None:
            if name in data:
                raise AccountError(f"user {name!r} already exists")
            data[name] = {"role": valid_role, "password": hashed, "created": created}

        self._users.update(add)
        return Account(name, valid_role, created)

    def remove_user(self, name: str) -> None:
        self._users.update(lambda data: _pop(data, name, "user"))

    def users(self) -> list[Account]:
        data = self._users.read()
        return _listed(data)

    def user(self, name: str) -> Account | None:
        return _account(name, self._users.read().get(name))

    def verify(self, name: str, password: str) -> Account | None:
        """The user if the password is theirs; the same work whether or not the user exists."""
        entry = self._users.read().get(name)
        hashed = entry.get("password") if isinstance(entry, dict) else None
        if not isinstance(hashed, str):
            self._password_check(_dummy_hash(), password)
            return None
        if not self._password_check(hashed, password):
            return None
        return _account(name, entry)

    # Tokens ----------------------------------------------------------------

    def add_token(self, name: str, role: str) -> str:
        """A new token's secret: shown once, only its hash is kept."""
        check_name(name, "token name")
        valid_role = check_role(role)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        created = self.clock()

        def add(data: dict[str, Any]) -> None:
            if name in data:
                raise AccountError(f"token {name!r} already exists (revoke it first)")
            data[name] = {"role": valid_role, "sha256": _sha256(secret), "created": created}

        self._tokens.update(add)
        return secret

    def revoke_token(self, name: str) -> None:
        self._tokens.update(lambda data: _pop(data, name, "token"))

    def tokens(self) -> list[Account]:
        data = self._tokens.read()
        return _listed(data)

    def token(self, secret: str) -> Account | None:
        """The token with this secret, or None."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 256:
            return None
        digest = _sha256(secret)
        for name, entry in self._tokens.read().items():
            stored = entry.get("sha256") if isinstance(entry, dict) else None
            if isinstance(stored, str) and hmac.compare_digest(stored, digest):
                return _account(name, entry)
        return None

    def token_named(self, name: str) -> Account | None:
        return _account(name, self._tokens.read().get(name))


def _listed(data: dict[str, Any]) -> list[Account]:
    found = (_account(name, entry) for name, entry in sorted(data.items()))
    return [account for account in found if account is not None]


def _pop(data: dict[str, Any], name: str, what: str) -> None:
    if data.pop(name, None) is None:
        known = ", ".join(sorted(data)) or "none"
        raise AccountError(f"no {what} {name!r} (known: {known})")
