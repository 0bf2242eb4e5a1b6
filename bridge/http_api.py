"""The HTTP API: the same data as Socket.IO, for polling clients and scripts."""

from __future__ import annotations

from typing import Any, Final

from flask import Blueprint, Response, abort, jsonify, request
from werkzeug.exceptions import HTTPException

from bridge.auth import Action, Authorize
from bridge.commands import Commands, Outcome, parse_request
from bridge.metrics import CONTENT_TYPE, Metrics
from bridge.store import Store

STATUS_FOR_ERROR: Final[dict[str | None, int]] = {
    None: 200,
    "invalid": 400,
    "unknown_relay": 404,
    "gateway_offline": 503,
    "not_connected": 503,
    "timeout": 504,
}
REJECTED: Final = 409  # the gateway said no: expired, duplicate, too_soon, hardware ...


def error(status: int, code: str, detail: str) -> tuple[Response, int]:
    return jsonify({"error": code, "detail": detail}), status


def make_api(
    store: Store,
    commands: Commands,
    mqtt_connected: Any,
    metrics: Metrics,
    authorize: Authorize,
) -> Blueprint:
    """``mqtt_connected`` is a zero-argument callable telling whether the broker link is up."""
    api = Blueprint("api", __name__)

    @api.before_request
    def _authorize() -> None:
        action: Action = "set_relay" if request.method == "POST" else "read"
        if not authorize(request.environ, action):
            abort(403, description=f"not allowed to {action.replace('_', ' ')}")

    @api.get("/api/state")
    def state() -> Any:
        return store.snapshot()

    @api.get("/api/events")
    def events() -> Any:
        raw = request.args.get("since", "")
        if not raw.isdigit():
            return error(400, "invalid", f"since must be a version number >= 0, got {raw!r}")
        deltas = store.events_since(int(raw))
        if deltas is None:
            return {"version": store.version, "resync": True}
        listed = [{"event": d.event, "data": d.payload()} for d in deltas]
        return {"version": store.version, "events": listed}

    for field in ("devices", "relays", "system_stats", "gateways"):
        api.add_url_rule(f"/api/{field}", field, _kind_view(store, field), methods=["GET"])

    @api.get("/api/devices/<gateway>/<device>/history")
    def history(gateway: str, device: str) -> Any:
        points = store.history_of(gateway, device)
        if points is None:
            return error(404, "unknown_device", f"no device {device!r} on gateway {gateway!r}")
        return {"key": f"{gateway}/{device}", "points": points}

    @api.post("/api/relays/<gateway>/<relay>")
    def set_relay(gateway: str, relay: str) -> Any:
        body = request.get_json(silent=True, force=True)
        if not isinstance(body, dict):
            outcome = Outcome(
                False, None, None, "invalid", 'body must be a JSON object: {"on": true}'
            )
        elif extra := sorted(set(body) - {"on"}):
            outcome = Outcome(
                False, None, None, "invalid", f"unexpected field(s): {', '.join(extra)}"
            )
        else:
            parsed = parse_request({"gateway": gateway, "relay": relay, **body})
            if isinstance(parsed, Outcome):
                outcome = parsed
            else:
                outcome = commands.send(parsed, by=f"http:{request.remote_addr or '?'}")
        if outcome.error == "invalid":
            commands.observe(outcome, 0.0)
        status = STATUS_FOR_ERROR.get(outcome.error, REJECTED)
        return jsonify(outcome.to_dict()), status

    @api.get("/api/health")
    def health() -> Any:
        connected = bool(mqtt_connected())
        body = {
            "mqtt_connected": connected,
            "gateways_online": store.gateways_online(),
            "version": store.version,
        }
        return body, 200 if connected else 503

    @api.get("/metrics")
    def prometheus() -> Response:
        metrics.version.set(store.version)
        metrics.mqtt_connected.set(1 if mqtt_connected() else 0)
        return Response(metrics.render(), content_type=CONTENT_TYPE)

    return api


def _kind_view(store: Store, field: str) -> Any:
    def view() -> Any:
        return store.kind(field)

    return view


def json_http_error(exc: HTTPException) -> Any:
    """Errors under /api and /metrics as JSON, everything else as Flask renders it."""
    if not request.path.startswith(("/api", "/metrics")):
        return exc
    code = (exc.name or "error").lower().replace(" ", "_")
    detail = {
        404: f"no such path: {request.path}",
        405: f"{request.method} is not allowed on {request.path}",
    }.get(exc.code or 0, exc.description or code)
    return error(exc.code or 500, code, detail)
