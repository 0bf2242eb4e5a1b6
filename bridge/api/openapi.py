"""The OpenAPI document of the HTTP API, generated from the running app's routes.

Paths come from Flask's URL map and each view's docstring (apispec's Flask plugin reads the
YAML after ``---``), so a route cannot exist undocumented: the test compares the two.
``python -m bridge.api.openapi docs/openapi.json`` writes the published copy.
"""

from __future__ import annotations

import json
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

from apispec import APISpec
from apispec.yaml_utils import load_yaml_from_docstring
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask

from bridge import contract
from bridge.app import create_app
from bridge.settings import BridgeSettings
from bridge.state.history_store import DEFAULT_POINTS, MAX_POINTS
from factory_core.contract import ID_PATTERN

DOCUMENTED_PREFIXES = ("/api/", "/metrics")

_SCHEMAS: dict[str, dict[str, Any]] = {
    # The shapes the bridge's contract owns (bridge/contract.py), under the names used here.
    **contract.openapi_schemas(
        {
            "Outcome": contract.CommandOutcome,
            "Error": contract.ApiError,
            "State": contract.FullState,
            "Events": contract.EventsAnswer,
            "AllToSafe": contract.AllToSafeOutcome,
            "AlarmRequest": contract.AlarmRequest,
            "EventLogPage": contract.EventLogPage,
        }
    ),
    "SetRelayBody": {
        "type": "object",
        "required": ["on"],
        "properties": {
            "on": {"type": "boolean"},
            "confirmed": {
                "type": "boolean",
                "description": "the operator confirmed it (recorded in the audit)",
            },
        },
        "additionalProperties": False,
    },
    "LockBody": {
        "type": "object",
        "required": ["lock"],
        "properties": {
            "lock": {"type": "boolean", "description": "true: lock; false: unlock"},
            "reason": {"type": "string", "minLength": 1, "maxLength": 256},
        },
        "additionalProperties": False,
    },
    "AllToSafeBody": {
        "type": "object",
        "properties": {"gateway": {"type": "string", "pattern": ID_PATTERN}},
        "additionalProperties": False,
    },
    "Login": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
    },
    "History": {
        "type": "object",
        "properties": {"key": {"type": "string"}, "points": {"type": "array"}},
    },
    "HistoryRange": {
        "type": "object",
        "required": ["key", "from", "to", "step", "tier", "step_series", "columns", "points"],
        "properties": {
            "key": {"type": "string"},
            "from": {"type": "number"},
            "to": {"type": "number"},
            "step": {"type": "number", "description": "seconds per point, as served"},
            "tier": {"type": "string", "enum": ["second", "minute", "ten_minutes"]},
            "step_series": {"type": "boolean", "description": "relay or digital input"},
            "columns": {"type": "array", "items": {"type": "string"}},
            "points": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "number"}},
                "description": "[ts, min, avg, max, last] per bucket that holds data",
            },
        },
    },
    "Health": {
        "type": "object",
        "properties": {
            "mqtt_connected": {"type": "boolean"},
            "gateways_online": {
                "type": "array",
                "items": {"type": "string"},
                "description": "connected and speaking",
            },
            "gateways_silent": {
                "type": "array",
                "items": {"type": "string"},
                "description": "connected, but nothing received for their silence window",
            },
            "version": {"type": "integer"},
        },
    },
}

# The query of both history paths (one description, referenced from each view's docstring).
_HISTORY_PARAMETERS: dict[str, dict[str, Any]] = {
    "from": {
        "description": "unix seconds or ISO 8601 (UTC when without an offset); default to - 1 h",
        "schema": {"type": "string"},
    },
    "to": {"description": "unix seconds or ISO 8601; default now", "schema": {"type": "string"}},
    "step": {
        "description": "seconds per point; widened until the range fits in points",
        "schema": {"type": "number", "exclusiveMinimum": 0},
    },
    "points": {
        "description": "at most this many points",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_POINTS,
            "default": DEFAULT_POINTS,
        },
    },
    "format": {"schema": {"type": "string", "enum": ["json", "csv"], "default": "json"}},
}


def _json_response(schema: str, description: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def documented_rules(app: Flask) -> list[str]:
    return sorted(
        {r.rule for r in app.url_map.iter_rules() if r.rule.startswith(DOCUMENTED_PREFIXES)}
    )


def build_spec(app: Flask, version: str) -> dict[str, Any]:
    spec = APISpec(
        title="Factory IoT bridge",
        version=version,
        openapi_version="3.1.0",
        plugins=[FlaskPlugin()],
        info={
            "description": "The bridge's HTTP API: the plant's live state, relay commands with "
            "confirmed outcomes, audit, health and metrics. Real-time pushes use Socket.IO "
            "(docs/api.md).",
        },
        security=[{"session": []}, {"token": []}],
    )
    for name, schema in _SCHEMAS.items():
        spec.components.schema(name, schema)
    spec.components.response("Outcome", _json_response("Outcome", "the command's outcome"))
    spec.components.response("Error", _json_response("Error", "what was refused and why"))
    spec.components.response("Invalid", _json_response("Error", "bad input, named"))
    for name, parameter in _HISTORY_PARAMETERS.items():
        spec.components.parameter(name, "query", parameter)
    spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": "factory_session"}
    )
    spec.components.security_scheme("token", {"type": "http", "scheme": "bearer"})
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith(DOCUMENTED_PREFIXES):
                continue
            view = app.view_functions[rule.endpoint]
            if not load_yaml_from_docstring(view.__doc__ or ""):
                raise ValueError(f"{rule.rule} has no OpenAPI operation in its docstring")
            # Path parameters come from the rule itself: gateway, device and relay ids.
            params = [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": ID_PATTERN},
                }
                for name in sorted(rule.arguments)
            ]
            spec.path(view=view, app=app, parameters=params)
    return spec.to_dict()


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else None
    with tempfile.TemporaryDirectory() as state:  # the app is built, never started
        bridge = create_app(BridgeSettings(state_dir=Path(state)))
        document = json.dumps(build_spec(bridge.app, version("factory-iot")), indent=2) + "\n"
    if out is None:
        sys.stdout.write(document)
    else:
        out.write_text(document)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
