"""HTTP side of security: the gate every ``/api`` request passes, login/logout/me, rate limits.

Order per request: a state-changing request from a foreign Origin is refused (403); the caller
is identified (Bearer token, else session cookie); no caller is 401 except on the public
paths; a cookie-authenticated state-changing request needs the session's CSRF token in the
``X-CSRF-Token`` header (403). Flask-Limiter then counts the request against the caller.
Each refusal of an identified caller is reported to ``on_refused`` (which audits relay
commands); the caller is identified for that even when a foreign Origin is refused first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter, RequestLimit

from bridge.contract import ApiError, ApiErrorCode
from bridge.security.accounts import PERMISSIONS, Accounts
from bridge.security.principals import (
    CSRF_HEADER,
    UNSAFE_METHODS,
    Auth,
    Principal,
    bearer,
    origin_allowed,
    parse_login,
)
from bridge.settings import BridgeSettings

SESSION_COOKIE = "factory_session"
OnRefused = Callable[[Principal, str, str], None]  # the caller, the error code, the detail


def error(status: int, code: ApiErrorCode, detail: str) -> tuple[Response, int]:
    body: ApiError = {"error": code, "detail": detail}
    return jsonify(body), status


def principal() -> Principal | None:
    """The caller of the current request, as the gate found it."""
    found: Principal | None = g.get("principal")
    return found


class _SessionInterface(SecureCookieSessionInterface):
    """``Secure`` when configured so, or when the request came over TLS (per trusted proxy)."""

    def __init__(self, always_secure: bool) -> None:
        self.always_secure = always_secure

    def get_cookie_secure(self, app: Flask) -> bool:
        return self.always_secure or request.is_secure


def install_auth(
    app: Flask,
    settings: BridgeSettings,
    auth: Auth,
    secret_key: str,
    on_logout: Callable[[str], None],
    on_refused: OnRefused,
) -> Limiter:
    """Sessions, the gate and the auth routes; returns the limiter for the other blueprints."""
    app.secret_key = secret_key
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
    )
    app.session_interface = _SessionInterface(settings.cookie_secure)
    public = {"/api/health", "/api/auth/login"} | (
        {"/metrics"} if settings.metrics_public else set()
    )
    allowlist = settings.cors_origin_list

    def report(caller: Principal | None, code: str, detail: str) -> None:
        if caller is not None and not g.get("refusal_reported"):
            g.refusal_reported = True  # once per request, however many limits it broke
            on_refused(caller, code, detail)

    def identify() -> Principal | None:
        return auth.identify(bearer(request.headers.get("Authorization")), session.get("sid"))

    @app.before_request
    def _gate() -> Any:
        if not request.path.startswith(("/api/", "/metrics")) or request.method == "OPTIONS":
            return None  # the dashboard's files (and its login page) are public
        unsafe = request.method in UNSAFE_METHODS
        origin = request.headers.get("Origin")
        if unsafe and not origin_allowed(origin, request.environ, allowlist):
            detail = f"requests from origin {origin!r} may not change anything here"
            report(identify(), "forbidden_origin", detail)
            return error(403, "forbidden_origin", detail)
        caller = identify()
        g.principal = caller
        if request.path in public:
            return None
        if caller is None:
            answer, status = error(
                401,
                "unauthorized",
                "log in (POST /api/auth/login) or send 'Authorization: Bearer <token>'",
            )
            answer.headers["WWW-Authenticate"] = 'Bearer realm="factory-bridge"'
            return answer, status
        if unsafe and not auth.csrf_ok(caller, request.headers.get(CSRF_HEADER)):
            detail = f"missing or wrong {CSRF_HEADER} header (GET /api/auth/me gives the token)"
            report(caller, "csrf_failed", detail)
            return error(403, "csrf_failed", detail)
        return None

    def _breached(limit: RequestLimit) -> None:
        # Flask-Limiter answers the 429 itself (``json_http_error``); this only reports it.
        report(principal(), "rate_limited", f"more than {limit.limit} HTTP requests")

    limiter = Limiter(
        _caller_key,
        app=app,
        storage_uri="memory://",
        headers_enabled=True,
        key_prefix="bridge",
        on_breach=_breached,
    )
    app.register_blueprint(_auth_routes(settings, auth.accounts, auth, limiter, on_logout))
    return limiter


def _caller_key() -> str:
    caller = principal()
    return caller.name if caller is not None else f"addr:{request.remote_addr or '?'}"


def _login_name_key() -> str:
    body = request.get_json(silent=True)
    name = body.get("username") if isinstance(body, dict) else None
    return f"login:{name[:64]}" if isinstance(name, str) else f"login-addr:{request.remote_addr}"


def _auth_routes(
    settings: BridgeSettings,
    accounts: Accounts,
    auth: Auth,
    limiter: Limiter,
    on_logout: Callable[[str], None],
) -> Blueprint:
    routes = Blueprint("auth", __name__)

    @routes.post("/api/auth/login")
    @limiter.limit(settings.login_rate_limit, key_func=lambda: f"addr:{request.remote_addr}")
    @limiter.limit(settings.login_rate_limit, key_func=_login_name_key)
    def login() -> Any:
        """Log in with user name and password.
        ---
        post:
          summary: Start a session (cookie) and get the CSRF token for later POSTs
          tags: [auth]
          security: []
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: "#/components/schemas/Login"}
          responses:
            200:
              description: '{"user": {"name", "role"}, "csrf_token", "expires"}'
              content: {application/json: {schema: {type: object}}}
            400: {$ref: "#/components/responses/Invalid"}
            401: {$ref: "#/components/responses/Error"}
            429: {$ref: "#/components/responses/Error"}
        """
        parsed = parse_login(request.get_json(silent=True))
        if isinstance(parsed, str):
            return error(400, "invalid", parsed + " (send Content-Type: application/json)")
        user = accounts.verify(parsed.username, parsed.password)
        if user is None:
            return error(401, "bad_credentials", "wrong user name or password")
        started = auth.sessions.create(user.name)
        session.clear()
        session["sid"] = started.id
        session.permanent = True
        return {
            "user": {"name": user.name, "role": user.role},
            "csrf_token": started.csrf,
            "expires": started.expires,
        }

    @routes.post("/api/auth/logout")
    def logout() -> Any:
        """End the session; its sockets are disconnected.
        ---
        post:
          summary: End this session
          tags: [auth]
          responses:
            200:
              description: '{"ok": true}'
              content: {application/json: {schema: {type: object}}}
            400: {$ref: "#/components/responses/Invalid"}
        """
        caller = principal()
        if caller is None or caller.session is None:
            detail = "an API token has no session to end; revoke it with `factory-bridge tokens`"
            return error(400, "invalid", detail)
        auth.sessions.end(caller.session)
        session.clear()
        on_logout(caller.session)
        return {"ok": True}

    @routes.get("/api/auth/me")
    def me() -> Any:
        """Who is calling.
        ---
        get:
          summary: The caller's user, role, permissions and CSRF token
          tags: [auth]
          responses:
            200:
              description: '{"user", "via", "csrf_token", "permissions"}'
              content: {application/json: {schema: {type: object}}}
            401: {$ref: "#/components/responses/Error"}
        """
        caller = principal()
        assert caller is not None  # the gate answered 401 otherwise
        live = auth.sessions.get(caller.session) if caller.session else None
        return {
            "user": caller.public(),
            "via": caller.via,
            "csrf_token": live.csrf if live is not None else None,
            "permissions": sorted(PERMISSIONS[caller.role]),
        }

    return routes
