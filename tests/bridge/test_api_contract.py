"""The bridge's Socket.IO/HTTP contract (bridge/contract.py) is what a real bridge sends, and
the schema the dashboard's TypeScript types are generated from is the contract's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bridge_helpers import FakeGateway, LiveClient, RunningBridge
from jsonschema import Draft7Validator

from bridge import contract
from devtools.local_broker import REPO


def conforms(name: str, payload: Any) -> None:
    """Raise, naming every problem, unless ``payload`` is a ``name`` of the contract."""
    schema = json.loads((REPO / contract.SCHEMA_PATH).read_text())
    validator = Draft7Validator({"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]})
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(payload)]
    assert not problems, f"not a {name}: {problems}"


def test_the_committed_schema_is_the_contracts() -> None:
    committed = (REPO / contract.SCHEMA_PATH).read_text()
    assert committed == contract.schema_text(), f"{contract.SCHEMA_PATH} is stale: make schemas"


def test_every_event_has_its_field_and_its_request() -> None:
    assert set(contract.EVENTS) == set(contract.FIELD) == set(contract.REQUESTS.values())


def test_what_a_bridge_sends_follows_the_contract(
    bridges: Callable[..., RunningBridge],
    gateway: FakeGateway,
    clients: Callable[..., LiveClient],
) -> None:
    bridge = bridges()
    client = clients(bridge)
    gateway.publish_device("temperature", 21.5)
    gateway.publish_device("humidity", None)  # a bad reading: value null
    gateway.publish_system(12.0)
    client.wait(
        lambda: client.item("system_stats", "line1") and client.item("devices", "line1/humidity"),
        "the gateway's readings and stats",
    )
    outcome = client.call("set_relay", {"gateway": "line1", "relay": "relay_1", "on": True})
    refused = client.call("set_relay", {"gateway": "line1", "relay": "nope", "on": True})
    client.wait(lambda: client.item("relays", "line1/relay_1")["on"] is True, "the relay on")

    conforms("FullState", client.received("state")[0])
    for event in contract.EVENTS:
        for delta in client.received(event):
            conforms("Delta", delta)
    assert {e for e, _ in client.events} >= {"state", "devices_update", "relays_update"}
    conforms("CommandOutcome", outcome)
    assert outcome["ok"] is True
    conforms("CommandOutcome", refused)
    assert refused["error"] == "unknown_relay"
    conforms("Delta", client.call("request_devices"))

    conforms("FullState", bridge.get("/api/state").json())
    conforms("EventsAnswer", bridge.get("/api/events?since=1").json())
    conforms("EventsAnswer", bridge.get("/api/events?since=999999").json())
    answer = bridge.post("/api/relays/line1/relay_1", json={"on": False}, role="operator")
    conforms("CommandOutcome", answer.json())
    for path, role, status in [
        ("/api/nothing-here", "admin", 404),
        ("/api/audit", "viewer", 403),
        ("/api/state", None, 401),
        ("/api/events?since=x", "admin", 400),
    ]:
        answer = bridge.get(path, role=role)
        assert answer.status_code == status, path
        conforms("ApiError", answer.json())
