"""Who is calling, and may they: sessions (cookie), API tokens (Bearer), origins and CSRF.

The functions here are pure apart from reading the state files through ``Accounts`` and
``Sessions``; Flask and Socket.IO glue lives in ``http_gate`` and ``bridge.push.realtime``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StrictStr, StringConstraints, ValidationError

from bridge.security.accounts import MAX_PASSWORD, Account, Accounts, Action, Role, can
from bridge.security.sessions import Sessions

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a logged-in user (``session`` set) or an API token."""

    name: str  # "alice", or "token:<name>" for a token
    role: Role
    session: str | None = None
    token: Account | None = None

    def can(self, action: Action) -> bool:
        return can(self.role, action)

    @property
    def via(self) -> str:
        return "session" if self.session is not None else "token"

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role}


class Auth:
    def __init__(self, accounts: Accounts, sessions: Sessions) -> None:
        self.accounts = accounts
        self.sessions = sessions

    def identify(self, token: str | None, session_id: str | None) -> Principal | None:
        """A token, when one is presented, decides alone: a bad token is not saved by a cookie."""
        if token is not None:
            account = self.accounts.token(token)
            return None if account is None else _token_principal(account)
        if session_id:
            session = self.sessions.get(session_id)
            user = self.accounts.user(session.user) if session is not None else None
            if session is not None and user is not None:
                return Principal(user.name, user.role, session=session.id)
        return None

    def refresh(self, principal: Principal) -> Principal | None:
        """The same caller as now on file (role, revocation, expiry), or None if gone."""
        if principal.token is not None:
            account = self.accounts.token_named(principal.token.name)
            if account is None or account.created != principal.token.created:
                return None  # revoked (and perhaps re-created with a new secret)
            return _token_principal(account)
        return self.identify(None, principal.session)

    def csrf_ok(self, principal: Principal, presented: str | None) -> bool:
        if principal.session is None:
            return True  # a token is never sent by the browser on its own: nothing to forge
        session = self.sessions.get(principal.session)
        return (
            session is not None
            and presented is not None
            and hmac.compare_digest(session.csrf.encode(), presented.encode())
        )


def _token_principal(account: Account) -> Principal:
    return Principal(f"token:{account.name}", account.role, token=account)


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def socket_token(auth: object, authorization: str | None) -> str | None:
    """A Socket.IO client's token: ``auth={"token": ...}`` first, else the Bearer header."""
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        token: str = auth["token"]
        return token
    return bearer(authorization)


def own_origin(environ: Mapping[str, Any]) -> str | None:
    """The bridge's own origin as the browser sees it (after ProxyFix, when trusted)."""
    host = environ.get("HTTP_HOST")
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}" if host else None


def origin_allowed(
    origin: str | None, environ: Mapping[str, Any], allowlist: Sequence[str]
) -> bool:
    """No Origin (not a browser, or a same-origin GET) or the bridge's own, or listed."""
    if origin is None:
        return True
    return origin == own_origin(environ) or origin in allowlist


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    username: Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[StrictStr, StringConstraints(min_length=1, max_length=MAX_PASSWORD)]


def parse_login(body: object) -> Login | str:
    """The login request, or a message naming what was wrong (never the password itself)."""
    if not isinstance(body, dict):
        return 'body must be a JSON object: {"username": "...", "password": "..."}'
    try:
        return Login.model_validate(body)
    except ValidationError as exc:
        parts = []
        for err in exc.errors(include_url=False):
            where = ".".join(str(p) for p in err["loc"]) or "(body)"
            shown = "" if where == "password" else f" (got {repr(err.get('input'))[:60]})"
            parts.append(f"{where}: {err['msg']}{shown}")
        return "; ".join(parts)
