"""The HTTP API: the same data as Socket.IO, for polling clients and scripts."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from bridge.contract import API_ERROR_FOR_STATUS, ApiErrorCode
from bridge.control.command_gate import CommandGate, Decision, all_to_safe_answer
from bridge.control.relay_commands import Outcome, SetRelay, parse_request
from bridge.metrics import CONTENT_TYPE, Metrics
from bridge.security.audit import AuditLog, AuditQuery, parse_audit_query
from bridge.security.http_gate import OnRefused, error, principal
from bridge.security.principals import Principal
from bridge.state.event_log import EventLog, EventQuery, parse_event_query
from bridge.state.history_store import (
    RANGE_PARAMETERS,
    HistoryQuery,
    HistoryStore,
    Kind,
    parse_history_query,
    series_csv,
    series_json,
)
from bridge.state.store import Store

STATUS_FOR_ERROR: Final[dict[str | None, int]] = {
    None: 200,
    "invalid": 400,
    "forbidden": 403,
    "rate_limited": 429,
    "unknown_relay": 404,
    "unknown_alarm": 404,
    "unknown_device": 404,
    "gateway_offline": 503,
    "gateway_silent": 503,
    "not_connected": 503,
    "timeout": 504,
}
REJECTED: Final = 409  # the gateway said no: expired, duplicate, too_soon, hardware ...


def make_api(
    store: Store,
    gate: CommandGate,
    mqtt_connected: Any,
    metrics: Metrics,
    audit: AuditLog,
    history_store: HistoryStore,
    clock: Callable[[], float],
    event_log: EventLog,
) -> Blueprint:
    """``mqtt_connected`` is a zero-argument callable telling whether the broker link is up.

    Who may call is settled before these views run (``bridge.security.http_gate``); only the
    actions beyond reading are checked here.
    """
    api = Blueprint("api", __name__)

    @api.get("/api/state")
    def state() -> Any:
        """The full state, as the Socket.IO ``state`` event.
        ---
        get:
          summary: Everything the bridge knows, with its version
          tags: [state]
          responses:
            200:
              description: gateways, devices, relays, system_stats, history and version
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/State"}
        """
        return store.snapshot()

    @api.get("/api/events")
    def events() -> Any:
        """The deltas a polling client missed.
        ---
        get:
          summary: Deltas since a version, or a signal to fetch the full state again
          tags: [state]
          parameters:
            - {name: since, in: query, required: true, schema: {type: integer, minimum: 0}}
          responses:
            200:
              description: >-
                {"version", "events": [{"event", "data"}]}, or {"version", "resync": true}
                when the bridge no longer holds what came after ``since``, or ``since`` is
                not a version this bridge process issued (another bridge's, or from
                before a restart)
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Events"}
            400: {$ref: "#/components/responses/Invalid"}
        """
        raw = request.args.get("since", "")
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
            return error(400, "invalid", f"since must be a version number >= 0, got {raw!r}")
        deltas = store.events_since(int(raw))
        if deltas is None:
            return {"version": store.version, "resync": True}
        listed = [{"event": d.event, "data": d.payload()} for d in deltas]
        return {"version": store.version, "events": listed}

    for field in ("devices", "relays", "system_stats", "gateways", "alarms"):
        api.add_url_rule(f"/api/{field}", field, _kind_view(store, field), methods=["GET"])

    @api.get("/api/devices/<gateway>/<device>/history")
    def history(gateway: str, device: str) -> Any:
        """A device's recent values for sparklines, or any range of its stored history.
        ---
        get:
          summary: >-
            Without parameters the last hour for sparklines (in memory, a few hundred
            points); with from, to, step, points or format any stored range, downsampled
          tags: [history]
          parameters: [from, to, step, points, format]
          responses:
            200:
              description: >-
                No parameters: {"key", "points": [[ts, value], ...]}. Ranged: a
                HistoryRange, or CSV (time,ts,min,avg,max,last) with format=csv
              content:
                application/json:
                  schema:
                    oneOf:
                      - {$ref: "#/components/schemas/History"}
                      - {$ref: "#/components/schemas/HistoryRange"}
                text/csv: {schema: {type: string}}
            400: {$ref: "#/components/responses/Invalid"}
            404: {$ref: "#/components/responses/Error"}
        """
        if not RANGE_PARAMETERS & set(request.args):
            points = store.history_of(gateway, device)
            if points is None:
                return error(404, "unknown_device", f"no device {device!r} on gateway {gateway!r}")
            return {"key": f"{gateway}/{device}", "points": points}
        return ranged("device", gateway, device, store.history_of(gateway, device) is not None)

    @api.get("/api/relays/<gateway>/<relay>/history")
    def relay_history(gateway: str, relay: str) -> Any:
        """A relay's stored on/off history, as a step series.
        ---
        get:
          summary: Any stored range of a relay's level (0 off, 1 on), downsampled
          tags: [history]
          parameters: [from, to, step, points, format]
          responses:
            200:
              description: a HistoryRange, or CSV (time,ts,min,avg,max,last) with format=csv
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/HistoryRange"}
                text/csv: {schema: {type: string}}
            400: {$ref: "#/components/responses/Invalid"}
            404: {$ref: "#/components/responses/Error"}
        """
        return ranged("relay", gateway, relay, store.knows_relay(gateway, relay))

    def ranged(kind: Kind, gateway: str, item: str, known_now: bool) -> Any:
        now = clock()
        query = parse_history_query(request.args, now)
        if not isinstance(query, HistoryQuery):
            return error(400, "invalid", query)
        start, end = query.span(now)
        series = history_store.query((kind, gateway, item), start, end, query.step, query.points)
        if not series.recorded and not known_now:
            code: ApiErrorCode = "unknown_device" if kind == "device" else "unknown_relay"
            return error(404, code, f"no {kind} {item!r} on gateway {gateway!r}")
        if query.format == "csv":
            return Response(
                series_csv(series),
                content_type="text/csv; charset=utf-8",
                headers={
                    "Content-Disposition": (f'attachment; filename="{gateway}_{item}_history.csv"')
                },
            )
        return series_json(f"{gateway}/{item}", series)

    @api.post("/api/relays/<gateway>/<relay>")
    def set_relay(gateway: str, relay: str) -> Any:
        """Switch a relay and answer the outcome the gateway confirmed.
        ---
        post:
          summary: Switch a relay; the answer carries the state read back from the pin
          tags: [commands]
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: "#/components/schemas/SetRelayBody"}
          responses:
            200: {$ref: "#/components/responses/Outcome"}
            400: {$ref: "#/components/responses/Outcome"}
            403: {$ref: "#/components/responses/Outcome"}
            404: {$ref: "#/components/responses/Outcome"}
            409: {$ref: "#/components/responses/Outcome"}
            429: {$ref: "#/components/responses/Outcome"}
            503: {$ref: "#/components/responses/Outcome"}
            504: {$ref: "#/components/responses/Outcome"}
        """
        body = request.get_json(silent=True, force=True)
        decision = gate.submit(
            principal(),
            _audited(body, gateway, relay),
            "http",
            request.remote_addr,
            lambda _d: _parse_body(body, gateway, relay),
        )
        return _answer(decision)

    @api.post("/api/relays/<gateway>/<relay>/lock")
    def lock_relay(gateway: str, relay: str) -> Any:
        """Lock a relay in its current state (lock-out / tag-out), or unlock it.
        ---
        post:
          summary: Lock (with a reason) or unlock a relay; the caller is the lock's author
          description: While locked, the gateway refuses every command to the relay with
            `locked`. Only the user who locked it or an admin may unlock it.
          tags: [commands]
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: "#/components/schemas/LockBody"}
          responses:
            200: {$ref: "#/components/responses/Outcome"}
            400: {$ref: "#/components/responses/Outcome"}
            403: {$ref: "#/components/responses/Outcome"}
            404: {$ref: "#/components/responses/Outcome"}
            409: {$ref: "#/components/responses/Outcome"}
            429: {$ref: "#/components/responses/Outcome"}
            503: {$ref: "#/components/responses/Outcome"}
            504: {$ref: "#/components/responses/Outcome"}
        """
        body = request.get_json(silent=True, force=True)
        fields = {**body, "gateway": gateway, "relay": relay} if isinstance(body, dict) else body
        decision = gate.submit_lock(principal(), fields, "http", request.remote_addr)
        return _answer(decision)

    @api.post("/api/all-to-safe")
    def all_to_safe() -> Any:
        """Drive every relay of one gateway, or of the plant, to its safe state.
        ---
        post:
          summary: All to safe, per gateway or plant-wide (not a safety-rated emergency stop)
          description: Each gateway drives every relay to its safe state, locked relays
            too, interlocked dependents first, and answers when done.
          tags: [commands]
          requestBody:
            required: false
            content:
              application/json:
                schema: {$ref: "#/components/schemas/AllToSafeBody"}
          responses:
            200:
              description: every gateway asked has confirmed
              content: {application/json: {schema: {$ref: "#/components/schemas/AllToSafe"}}}
            409:
              description: a gateway refused, failed or did not answer; or the request was refused
              content: {application/json: {schema: {$ref: "#/components/schemas/AllToSafe"}}}
        """
        body = request.get_json(silent=True, force=True)
        answer = all_to_safe_answer(
            gate.submit_all_to_safe(principal(), body, "http", request.remote_addr)
        )
        return jsonify(answer), 200 if answer["ok"] else REJECTED

    @api.post("/api/alarms/command")
    def alarm_command() -> Any:
        """Acknowledge, shelve or unshelve an alarm (operators and admins).
        ---
        post:
          summary: Handle one alarm; the answer is the outcome its gateway confirmed
          tags: [commands]
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: "#/components/schemas/AlarmRequest"}
          responses:
            200: {$ref: "#/components/responses/Outcome"}
            400: {$ref: "#/components/responses/Outcome"}
            403: {$ref: "#/components/responses/Outcome"}
            404: {$ref: "#/components/responses/Outcome"}
            409: {$ref: "#/components/responses/Outcome"}
            429: {$ref: "#/components/responses/Outcome"}
            503: {$ref: "#/components/responses/Outcome"}
            504: {$ref: "#/components/responses/Outcome"}
        """
        body = request.get_json(silent=True, force=True)
        decision = gate.submit_alarm(principal(), body, "http", request.remote_addr)
        outcome = decision.outcome
        answer = jsonify(outcome.to_dict())
        if decision.retry_after is not None:
            answer.headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after)))
        return answer, STATUS_FOR_ERROR.get(outcome.error, REJECTED)

    @api.post("/api/devices/<gateway>/<device>/service")
    def set_service(gateway: str, device: str) -> Any:
        """Take a device out of service (its alarms suppressed, its values marked) or back.
        ---
        post:
          summary: Out of service with a reason, or back in service (operators and admins)
          tags: [commands]
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [in_service]
                  properties: {in_service: {type: boolean}, reason: {type: string}}
          responses:
            200: {$ref: "#/components/responses/Outcome"}
            400: {$ref: "#/components/responses/Outcome"}
            403: {$ref: "#/components/responses/Outcome"}
            404: {$ref: "#/components/responses/Outcome"}
            429: {$ref: "#/components/responses/Outcome"}
            503: {$ref: "#/components/responses/Outcome"}
        """
        body = request.get_json(silent=True, force=True)
        fields = body if isinstance(body, dict) else {"body": body}
        data = {**fields, "gateway": gateway, "device": device}
        decision = gate.submit_service(principal(), data, "http", request.remote_addr)
        outcome = decision.outcome
        answer = jsonify(outcome.to_dict())
        if decision.retry_after is not None:
            answer.headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after)))
        return answer, STATUS_FOR_ERROR.get(outcome.error, REJECTED)

    @api.get("/api/event-log")
    def event_log_page() -> Any:
        """What happened in the plant, newest first (everyone with a login).
        ---
        get:
          summary: A page of the operators' event log (alarms, commands, gateways, bridges)
          tags: [events]
          parameters:
            - {name: gateway, in: query, schema: {type: string}}
            - name: kind
              in: query
              schema: {type: string, enum: [alarm, command, gateway, bridge]}
            - {name: since, in: query, schema: {type: number}, description: "Unix s, inclusive"}
            - {name: until, in: query, schema: {type: number}, description: "Unix s, exclusive"}
            - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000}}
            - {name: offset, in: query, schema: {type: integer, minimum: 0}}
          responses:
            200:
              description: entries (newest first) and paging
              content: {application/json: {schema: {$ref: "#/components/schemas/EventLogPage"}}}
            400: {$ref: "#/components/responses/Invalid"}
        """
        query = parse_event_query(request.args)
        if not isinstance(query, EventQuery):
            return error(400, "invalid", query)
        return event_log.query(query)

    @api.get("/api/event-log.csv")
    def event_log_csv() -> Any:
        """The event log as CSV.
        ---
        get:
          summary: The event log, filtered like /api/event-log (no paging), as a CSV download
          tags: [events]
          responses:
            200:
              description: CSV with a header row
              content: {text/csv: {schema: {type: string}}}
            400: {$ref: "#/components/responses/Invalid"}
        """
        query = parse_event_query(request.args)
        if not isinstance(query, EventQuery):
            return error(400, "invalid", query)
        return Response(
            event_log.csv(query),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="event-log.csv"'},
        )

    @api.get("/api/audit")
    def audit_page() -> Any:
        """Who switched what, when, from where, with what outcome (admins).
        ---
        get:
          summary: A page of the relay command audit log, newest first
          tags: [audit]
          responses:
            200:
              description: entries and paging
              content: {application/json: {schema: {type: object}}}
            400: {$ref: "#/components/responses/Invalid"}
            403: {$ref: "#/components/responses/Error"}
        """
        query = _audit_query()
        if not isinstance(query, AuditQuery):
            return query
        return audit.query(query)

    @api.get("/api/audit.csv")
    def audit_csv() -> Any:
        """The audit log as CSV (admins).
        ---
        get:
          summary: The audit log, filtered like /api/audit, as a CSV download
          tags: [audit]
          responses:
            200:
              description: CSV with a header row
              content: {text/csv: {schema: {type: string}}}
            403: {$ref: "#/components/responses/Error"}
        """
        query = _audit_query()
        if not isinstance(query, AuditQuery):
            return query
        return Response(
            audit.csv(query),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )

    @api.get("/api/health")
    def health() -> Any:
        """Liveness for load balancers and monitoring (no login needed).
        ---
        get:
          summary: Broker link, gateways online and gateways silent
          tags: [operations]
          security: []
          responses:
            200:
              description: the broker is reachable
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Health"}
            503:
              description: the broker is unreachable
              content:
                application/json:
                  schema: {$ref: "#/components/schemas/Health"}
        """
        connected = bool(mqtt_connected())
        body = {
            "mqtt_connected": connected,
            "gateways_online": store.gateways_online(),
            "gateways_silent": store.gateways_silent(),
            "version": store.version,
        }
        return body, 200 if connected else 503

    @api.get("/metrics")
    def prometheus() -> Response:
        """Prometheus metrics.
        ---
        get:
          summary: Metrics in the Prometheus text format
          tags: [operations]
          responses:
            200:
              description: messages in, updates out, dropped messages, clients, commands
              content: {text/plain: {schema: {type: string}}}
        """
        metrics.version.set(store.version)
        for status in ("online", "silent", "offline"):
            count = sum(1 for g in store.gateways.values() if g["status"] == status)
            metrics.gateways.labels(status).set(count)
        metrics.mqtt_connected.set(1 if mqtt_connected() else 0)
        return Response(metrics.render(), content_type=CONTENT_TYPE)

    return api


def audit_refused_commands(gate: CommandGate) -> OnRefused:
    """For ``install_auth``: a command (relay, lock, all to safe, alarm, service) that the HTTP
    gate or Flask-Limiter refuses before it reaches its view is audited all the same."""

    def audit(caller: Principal, error_code: str, detail: str) -> None:
        body = request.get_json(silent=True, force=True)
        fields = body if isinstance(body, dict) else {}
        path = request.view_args or {}
        remote = request.remote_addr
        # Each with what its view would have given the gate.
        match request.endpoint:
            case "api.alarm_command":
                gate.refused("alarm_command", caller, body, "http", remote, error_code, detail)
            case "api.set_relay":
                fields = _audited(body, path["gateway"], path["relay"])
                gate.refused("set_relay", caller, fields, "http", remote, error_code, detail)
            case "api.lock_relay":
                target = {**fields, "gateway": path["gateway"], "relay": path["relay"]}
                gate.refused("lock_relay", caller, target, "http", remote, error_code, detail)
            case "api.all_to_safe":
                target = {"gateway": fields.get("gateway")}
                gate.refused("all_to_safe", caller, target, "http", remote, error_code, detail)
            case "api.set_service":
                target = {**fields, "gateway": path["gateway"], "device": path["device"]}
                gate.refused("set_service", caller, target, "http", remote, error_code, detail)

    return audit


def _answer(decision: Decision) -> tuple[Response, int]:
    outcome = decision.outcome
    answer = jsonify(outcome.to_dict())
    if decision.retry_after is not None:
        answer.headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after)))
    return answer, STATUS_FOR_ERROR.get(outcome.error, REJECTED)


def _audited(body: object, gateway: str, relay: str) -> dict[str, object]:
    """What the audit records of an HTTP relay command (its body may be anything)."""
    fields = body if isinstance(body, dict) else {}
    return {
        "gateway": gateway,
        "relay": relay,
        "on": fields.get("on"),
        "confirmed": fields.get("confirmed"),
    }


def _parse_body(body: object, gateway: str, relay: str) -> SetRelay | Outcome:
    """HTTP's body is ``{"on": <bool>}`` alone; gateway and relay come from the path."""
    if not isinstance(body, dict):
        return Outcome(False, None, None, "invalid", 'body must be a JSON object: {"on": true}')
    if extra := sorted(set(body) - {"on", "confirmed"}):
        return Outcome(False, None, None, "invalid", f"unexpected field(s): {', '.join(extra)}")
    return parse_request({"gateway": gateway, "relay": relay, **body})


def _audit_query() -> AuditQuery | tuple[Response, int]:
    caller = principal()
    if caller is None or not caller.can("audit"):
        who = f"{caller.name} ({caller.role})" if caller else "nobody"
        return error(403, "forbidden", f"{who} may not read the audit log (admins only)")
    query = parse_audit_query(request.args)
    return query if isinstance(query, AuditQuery) else error(400, "invalid", query)


def _kind_view(store: Store, field: str) -> Any:
    def view() -> Any:
        return store.kind(field)

    # The seed's per-kind endpoints; described for the OpenAPI document like the others.
    view.__doc__ = f"""The {field} part of the state.
    ---
    get:
      summary: The current {field} with the version, as the {field}_update event
      tags: [state]
      responses:
        200:
          description: the current {field} with the version
          content: {{application/json: {{schema: {{type: object}}}}}}
    """
    return view


def json_http_error(exc: HTTPException) -> Any:
    """Errors under /api and /metrics as JSON, everything else as Flask renders it."""
    if not request.path.startswith(("/api", "/metrics")):
        return exc
    status = exc.code or 500
    code = API_ERROR_FOR_STATUS.get(status, "invalid" if status < 500 else "internal_server_error")
    detail = {
        404: f"no such path: {request.path}",
        405: f"{request.method} is not allowed on {request.path}",
    }.get(exc.code or 0, exc.description or code)
    return error(status, code, detail)
