"""The OpenAPI document is generated from the app's routes and is valid."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from bridge.api.openapi import build_spec, documented_rules
from bridge.app import create_app
from bridge.settings import BridgeSettings

REPO = Path(__file__).resolve().parents[2]


def _spec(tmp_path: Path) -> dict[str, Any]:
    bridge = create_app(BridgeSettings(state_dir=tmp_path))
    return build_spec(bridge.app, version("factory-iot"))


def test_every_http_route_is_documented_and_the_document_is_valid(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    validate(spec)
    bridge = create_app(BridgeSettings(state_dir=tmp_path / "again"))
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r) for r in documented_rules(bridge.app)}
    assert routes == set(spec["paths"])
    relay = spec["paths"]["/api/relays/{gateway}/{relay}"]["post"]
    assert {"200", "400", "404", "409", "503", "504"} <= set(relay["responses"])


def test_the_published_document_matches_the_code(tmp_path: Path) -> None:
    published = json.loads((REPO / "docs" / "openapi.json").read_text())
    assert published == _spec(tmp_path), "docs/openapi.json is stale: run `make schemas`"
