"""Relay commands through the bridge: every outcome, over Socket.IO and HTTP, and two bridges."""

from __future__ import annotations

import json

import pytest
from bridge_helpers import FakeGateway, LiveClient

from devtools.waits import wait_until
from factory_core.contract import RelayCommand


def relay_on(client: LiveClient, key: str = "line1/relay_1") -> object:
    return (client.item("relays", key) or {}).get("on")


def test_confirmed_command_and_its_wire_format(bridges, gateway: FakeGateway, clients, probe):
    bridge = bridges()
    client = clients(bridge)
    client.wait(lambda: relay_on(client) is False, "relay known")
    outcome = client.call("set_relay", {"gateway": "line1", "relay": "relay_1", "on": True})
    assert outcome["ok"] is True and outcome["on"] is True and outcome["error"] is None
    assert len(outcome["id"]) == 32
    client.wait(lambda: relay_on(client) is True, "relays_update with the read-back state")
    assert client.item("relays", "line1/relay_1")["cmd"] == outcome["id"]

    sent = probe.wait_for(lambda m: m.topic == "factory/line1/relays/relay_1/set")
    command = RelayCommand.model_validate_json(sent.payload)
    assert command.id == outcome["id"] and command.on is True and command.deadline > 0
    assert sent.qos == 1 and not sent.retain
    assert sent.properties is not None and sent.properties.MessageExpiryInterval == 5

    answer = bridge.post("/api/relays/line1/relay_1", json={"on": False})
    assert answer.status_code == 200 and answer.json()["on"] is False
    assert bridge.metric('factory_bridge_commands_total{outcome="ok"}') == 2
    assert bridge.metric("factory_bridge_command_latency_seconds_count") == 2


def test_the_gateways_rejection_is_reported_with_the_real_state(bridges, broker, clients):
    gateway = FakeGateway(broker.url, answer="too_soon").start()
    try:
        bridge = bridges()
        client = clients(bridge)
        client.wait(lambda: relay_on(client) is False)
        outcome = client.call("set_relay", {"gateway": "line1", "relay": "relay_1", "on": True})
        assert outcome["ok"] is False and outcome["error"] == "too_soon"
        assert outcome["on"] is False  # what the pin reads, not what was asked
        answer = bridge.post("/api/relays/line1/relay_1", json={"on": True})
        assert answer.status_code == 409 and answer.json()["error"] == "too_soon"
    finally:
        gateway.stop()


def test_no_answer_is_a_timeout(bridges, broker, clients):
    gateway = FakeGateway(broker.url, answer="silent").start()
    try:
        bridge = bridges(FACTORY_COMMAND_TTL="0.5", FACTORY_COMMAND_GRACE="0.2")
        client = clients(bridge)
        client.wait(lambda: relay_on(client) is False)
        outcome = client.call("set_relay", {"gateway": "line1", "relay": "relay_1", "on": True})
        assert outcome["error"] == "timeout" and outcome["on"] is False
        assert "within 0.7 s" in outcome["detail"]  # the TTL and the grace
        assert bridge.post("/api/relays/line1/relay_1", json={"on": True}).status_code == 504
        wait_until(lambda: len(gateway.commands) == 2)  # it did go out, once each
    finally:
        gateway.stop()


def test_offline_gateway_and_unknown_relay_publish_nothing(
    bridges, gateway: FakeGateway, clients, probe
):
    bridge = bridges()
    client = clients(bridge)
    client.wait(lambda: relay_on(client) is False)
    unknown = client.call("set_relay", {"gateway": "line1", "relay": "relay_9", "on": True})
    assert unknown["error"] == "unknown_relay" and "relay_9" in unknown["detail"]
    other = bridge.post("/api/relays/line7/relay_1", json={"on": True})
    assert other.status_code == 404 and other.json()["error"] == "unknown_relay"
    gateway.crash()
    client.wait(lambda: client.state["gateways"]["line1"]["online"] is False)
    offline = client.call("set_relay", {"gateway": "line1", "relay": "relay_1", "on": True})
    assert offline["error"] == "gateway_offline" and offline["ok"] is False
    assert bridge.post("/api/relays/line1/relay_1", json={"on": True}).status_code == 503
    assert [m for m in probe.messages if m.topic.endswith("/set")] == []


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({"gateway": "line1", "relay": "relay_1", "on": "yes"}, "on"),
        ({"gateway": "line1", "relay": "relay_1"}, "on"),
        ({"gateway": "line1", "on": True}, "relay"),
        ({"gateway": "Line 1!", "relay": "relay_1", "on": True}, "gateway"),
        ({"gateway": "line1", "relay": "relay_1", "on": True, "force": 1}, "force"),
        ("relay_1 on", "object"),
    ],
)
def test_bad_set_relay_gets_a_clear_error_and_publishes_nothing(
    bridges, gateway: FakeGateway, clients, probe, payload, named
):
    bridge = bridges()
    client = clients(bridge)
    outcome = client.call("set_relay", payload)
    assert outcome["ok"] is False and outcome["error"] == "invalid" and outcome["on"] is None
    assert named in outcome["detail"]
    assert [m for m in probe.messages if m.topic.endswith("/set")] == []


def test_bad_http_requests_get_json_errors(bridges, gateway: FakeGateway, probe):
    bridge = bridges()
    cases = [
        (b"not json", "JSON object"),
        (b"[true]", "JSON object"),
        (json.dumps({"on": "true"}).encode(), "on: Input should be a valid boolean"),
        (json.dumps({}).encode(), "on: Field required"),
        (json.dumps({"on": True, "relay": "x"}).encode(), "unexpected field(s): relay"),
    ]
    for body, detail in cases:
        answer = bridge.post(
            "/api/relays/line1/relay_1", data=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400, body
        assert answer.json()["error"] == "invalid" and detail in answer.json()["detail"], body
    unknown = bridge.get("/api/nothing/here")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    wrong = bridge.post("/api/devices")
    assert wrong.status_code == 405 and "POST" in wrong.json()["detail"]
    assert bridge.metric('factory_bridge_commands_total{outcome="invalid"}') == len(cases)
    assert [m for m in probe.messages if m.topic.endswith("/set")] == []


def test_broker_down_means_not_connected_and_unhealthy(bridges, broker, gateway: FakeGateway):
    bridge = bridges()
    wait_until(lambda: bridge.get("/api/relays").json()["relays"].get("line1/relay_1"))
    gateway.stop()
    broker.stop()
    wait_until(lambda: bridge.get("/api/health").status_code == 503)
    assert bridge.get("/api/health").json()["mqtt_connected"] is False
    answer = bridge.post("/api/relays/line1/relay_1", json={"on": True})
    assert answer.status_code == 503 and answer.json()["error"] == "not_connected"


def test_two_bridges_share_only_the_broker(bridges, gateway: FakeGateway, clients):
    first, second = bridges(), bridges()
    one, two = clients(first), clients(second, ["polling"])
    for c in (one, two):
        c.wait(lambda c=c: relay_on(c, "line1/relay_2") is False)
    outcome = one.call("set_relay", {"gateway": "line1", "relay": "relay_2", "on": True})
    assert outcome["ok"] is True
    for c in (one, two):
        c.wait(lambda c=c: relay_on(c, "line1/relay_2") is True, "confirmed on both bridges")
        assert c.item("relays", "line1/relay_2")["cmd"] == outcome["id"]
    via_second = second.post("/api/relays/line1/relay_2", json={"on": False}).json()
    assert via_second["ok"] is True
    one.wait(lambda: relay_on(one, "line1/relay_2") is False)
