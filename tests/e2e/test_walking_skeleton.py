"""Issue 2 end to end: a reading and a relay command travel the whole way through a real
Mosquitto, a simulated gateway process and a bridge process, seen by real Socket.IO clients,
HTTP and a plain MQTT subscriber."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devtools.mqtt_probe import MqttProbe
from devtools.sio_probe import SioProbe
from devtools.stack import Stack
from factory_core.contract import CommandResult, DeviceState, RelayState, Topics

GW = "line1"
topics = Topics()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # The tests share one user; its relay commands (a good one after each bad one, as the
    # witness that the bad one published nothing) are not a flood to be limited.
    limits = {"FACTORY_COMMAND_BURST": "1000", "FACTORY_COMMAND_RATE": "100000"}
    with Stack(Path(tmp_path_factory.mktemp("stack")), bridge_env=limits) as s:
        yield s


@pytest.fixture
def mqtt(stack: Stack) -> Iterator[MqttProbe]:
    with MqttProbe(stack.broker.url, [f"{topics.prefix}/#"]) as p:
        yield p


@pytest.fixture
def client(stack: Stack) -> Iterator[SioProbe]:
    with SioProbe(stack.base_url, token=stack.api_token) as c:
        yield c


def test_a_new_client_gets_the_full_state_first(client: SioProbe) -> None:
    state = client.wait_for("state").data
    assert isinstance(state["version"], int)
    assert state["gateways"][GW]["online"] is True
    for device in ("temperature", "humidity", "vibration", "pressure", "machine_running"):
        assert f"{GW}/{device}" in state["devices"]
    assert state["devices"][f"{GW}/temperature"]["unit"] == "°C"
    assert isinstance(state["devices"][f"{GW}/machine_running"]["value"], bool)
    assert {f"{GW}/relay_{n}" for n in range(1, 5)} <= set(state["relays"])
    assert GW in state["system_stats"]
    assert client.events[0].event == "state", "the snapshot must come before any delta"


def test_a_sensor_change_arrives_as_a_delta(client: SioProbe) -> None:
    version = client.wait_for("state").data["version"]
    delta = client.wait_for(
        "devices_update", lambda d: any(k.startswith(f"{GW}/") for k in d["devices"]), timeout=20
    ).data
    assert delta["version"] > version
    device = next(iter(delta["devices"].values()))
    assert {"value", "ts", "quality"} <= set(device)


def test_a_relay_command_is_confirmed_to_every_client(stack: Stack, mqtt: MqttProbe) -> None:
    with (
        SioProbe(stack.base_url, token=stack.api_token) as alice,
        SioProbe(stack.base_url, token=stack.api_token) as bob,
    ):
        before = alice.wait_for("state").data["relays"][f"{GW}/relay_2"]["on"]
        bob.wait_for("state")
        target = not before
        outcome = alice.call("set_relay", {"gateway": GW, "relay": "relay_2", "on": target})
        assert outcome["ok"] is True, outcome
        assert outcome["on"] is target
        for c in (alice, bob):
            c.wait_for(
                "relays_update", lambda d: d["relays"].get(f"{GW}/relay_2", {}).get("on") is target
            )

    result_msg = mqtt.wait_for(
        lambda m: (
            m.topic == topics.relay_result(GW, "relay_2")
            and json.loads(m.payload)["id"] == outcome["id"]
        )
    )
    assert CommandResult.model_validate_json(result_msg.payload).ok is True
    # A late subscriber (like `mosquitto_sub`) sees the confirmed state, retained.
    with MqttProbe(stack.broker.url, [topics.relay_state(GW, "relay_2")]) as late:
        retained = late.wait_for(lambda m: m.retain)
        state = RelayState.model_validate_json(retained.payload)
        assert state.on is target
        assert state.cmd == outcome["id"]


def test_http_serves_the_same_data(stack: Stack, client: SioProbe) -> None:
    snapshot = client.wait_for("state").data
    api = stack.api("/api/state")
    assert set(api["devices"]) == set(snapshot["devices"])
    assert set(api["relays"]) == set(snapshot["relays"])
    assert stack.api("/api/devices")["devices"].keys() == api["devices"].keys()
    assert stack.api("/api/relays")["relays"].keys() == api["relays"].keys()
    assert GW in stack.api("/api/system_stats")["system_stats"]
    assert stack.api("/api/gateways")["gateways"][GW]["online"] is True
    health = requests.get(f"{stack.base_url}/api/health", timeout=5)
    assert health.status_code == 200
    assert health.json()["mqtt_connected"] is True


def test_http_relay_command_answers_the_confirmed_outcome(stack: Stack) -> None:
    before = stack.api("/api/relays")["relays"][f"{GW}/relay_3"]["on"]
    answer = requests.post(
        f"{stack.base_url}/api/relays/{GW}/relay_3",
        json={"on": not before},
        headers=stack.auth_header,
        timeout=15,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["ok"] is True
    assert answer.json()["on"] is (not before)
    assert stack.api("/api/relays")["relays"][f"{GW}/relay_3"]["on"] is (not before)


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ({"gateway": GW, "relay": "relay_99", "on": True}, "unknown_relay"),
        ({"gateway": GW, "relay": "relay_1"}, "invalid"),
        ({"gateway": GW, "relay": "relay_1", "on": "yes"}, "invalid"),
        ({"gateway": "nope", "relay": "relay_1", "on": True}, "unknown_relay"),
        ("not an object", "invalid"),
    ],
)
def test_bad_set_relay_gets_a_clear_error_and_publishes_nothing(
    client: SioProbe, mqtt: MqttProbe, command: object, error: str
) -> None:
    relays_before = client.wait_for("state").data["relays"]
    outcome = client.call("set_relay", command)
    assert outcome["ok"] is False
    assert outcome["error"] == error
    assert outcome["detail"]
    # The witness that nothing was published: a good command sent after the bad one, through
    # the same bridge connection. Its /set arrives after anything the bad one could have sent.
    unchanged = relays_before[f"{GW}/relay_1"]["on"]
    marker = client.call("set_relay", {"gateway": GW, "relay": "relay_1", "on": unchanged})
    assert marker["ok"] is True, marker
    mqtt.wait_for(
        lambda m: m.topic.endswith("/set") and json.loads(m.payload)["id"] == marker["id"],
        what="the good command after the bad one",
    )
    sets = [json.loads(m.payload)["id"] for m in mqtt.messages if m.topic.endswith("/set")]
    assert sets == [marker["id"]], "nothing but the good command may reach MQTT"
    assert {k: v["on"] for k, v in client.call("request_relays")["relays"].items()} == {
        k: v["on"] for k, v in relays_before.items()
    }


@pytest.mark.parametrize(
    "body", [b'{"on": "true"}', b"{}", b"not json", b'{"on": null}', b"[true]"]
)
def test_bad_http_command_is_a_400_naming_the_problem(stack: Stack, body: bytes) -> None:
    answer = requests.post(
        f"{stack.base_url}/api/relays/{GW}/relay_1",
        data=body,
        headers={"Content-Type": "application/json", **stack.auth_header},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid"
    assert answer.json()["detail"]


def test_junk_on_the_wire_is_dropped_and_nothing_crashes(stack: Stack, mqtt: MqttProbe) -> None:
    relays_before = {k: v["on"] for k, v in stack.api("/api/relays")["relays"].items()}
    junk = [
        (topics.device_state(GW, "temperature"), b"{not json"),
        (topics.device_state(GW, "temperature"), b"[" * 60_000),
        (topics.relay_set(GW, "relay_1"), b"[" * 60_000),
        (topics.device_state(GW, "temperature"), b'{"value": "hot", "ts": 1, "seq": 1}'),
        (topics.relay_set(GW, "relay_1"), b'{"on": true}'),
        (topics.relay_set(GW, "relay_1"), b"\xff\xfe"),
        (f"{topics.prefix}/{GW}/devices/BAD ID/state", b"{}"),
        (f"{topics.prefix}/{GW}/whatever", b"x" * 10_000),
    ]
    for topic, payload in junk:
        mqtt.publish(topic, payload)
    # Good messages after the junk, on the same topics: each service handles them after the
    # junk, so their effects are the witnesses that both are up and the junk did nothing.
    good = DeviceState(value=12.5, unit="°C", ts=time.time(), seq=1)
    mqtt.publish(topics.device_state(GW, "probe_sensor"), good.to_bytes())
    unchanged = relays_before[f"{GW}/relay_1"]
    good_command = {"on": unchanged, "id": "after-junk", "by": "test", "deadline": time.time() + 30}
    mqtt.publish(topics.relay_set(GW, "relay_1"), json.dumps(good_command))
    stack.bridge.wait_until(
        lambda: stack.api("/api/devices")["devices"][f"{GW}/probe_sensor"]["value"] == 12.5,
        what="a good message after the junk",
    )
    answer = mqtt.wait_for(
        lambda m: m.topic == topics.relay_result(GW, "relay_1"), what="the good command's result"
    )
    result = CommandResult.model_validate_json(answer.payload)
    assert (result.id, result.ok) == ("after-junk", True), result
    assert stack.gateway.running() and stack.bridge.running()
    assert {k: v["on"] for k, v in stack.api("/api/relays")["relays"].items()} == relays_before
    results = [m for m in mqtt.messages if m.topic.endswith("/result")]
    assert len(results) == 1, "the junk commands were answered"
