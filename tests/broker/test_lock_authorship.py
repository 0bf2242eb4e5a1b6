"""Who set a lock cannot be forged: lock and all-to-safe commands reach a gateway only from
a bridge login (Mosquitto's ACL, rendered from the plant), and the bridge writes the user it
authenticated into them. A real gateway (simulated board) runs as line1 on the plant broker;
every other kind of broker user tries to lock its relay or drive it to safe."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe
from factory_core.contract import CommandResult, RelayState, Topics
from gateway.config import parse_config
from gateway.hardware.factory import make_backend
from gateway.service import Gateway

t = Topics()


@pytest.fixture
def line1(
    plant_broker: LocalBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Gateway]:
    monkeypatch.setenv("FACTORY_MQTT_URL", plant_broker.url_for("line1"))
    config = parse_config(
        {
            "gateway_id": "line1",
            "state_dir": str(tmp_path / "state"),
            "hardware": {"backend": "simulated"},
            "relays": [{"id": "relay_1", "name": "Conveyor motor", "pin": 5}],
        }
    )
    gateway = Gateway(config, make_backend(config.hardware))
    gateway.start()
    yield gateway
    gateway.stop()


def lock_body(by: str, role: str = "admin") -> tuple[str, str]:
    cid = uuid.uuid4().hex
    body = {
        "lock": True,
        "id": cid,
        "by": by,
        "role": role,
        "reason": "forged" if by == "mallory" else "belt change",
        "deadline": time.time() + 30,
    }
    return cid, json.dumps(body)


def test_only_a_bridge_login_can_lock_a_relay_or_drive_a_gateway_to_safe(
    plant_broker: LocalBroker, line1: Gateway, admin: MqttProbe
) -> None:
    admin.wait_for(
        lambda m: m.topic == t.relay_state("line1", "relay_1"), what="line1's relay state"
    )
    forged: list[str] = []
    # A writer may switch relay_1 (its ACL says so), a reader and another gateway may not
    # even do that: none of them may lock it or send all-to-safe.
    for user in ("scada", "historian", "line2"):
        with MqttProbe(plant_broker.url_for(user), []) as forger:
            cid, body = lock_body("mallory")
            forger.publish(t.relay_lock("line1", "relay_1"), body)
            safe_id = uuid.uuid4().hex
            forger.publish(
                t.all_to_safe("line1"),
                json.dumps({"id": safe_id, "by": "mallory", "deadline": time.time() + 30}),
            )
            forged += [cid, safe_id]
    with MqttProbe(plant_broker.url_for("bridge"), []) as bridge:
        cid, body = lock_body("alice", role="operator")
        bridge.publish(t.relay_lock("line1", "relay_1"), body)
    genuine = admin.wait_for(
        lambda m: m.topic.endswith("/result") and cid.encode() in m.payload,
        what="the bridge's lock result",
    )
    assert CommandResult.model_validate_json(genuine.payload).ok
    # The gateway handles its commands in order: had a forged one reached it, its result
    # would be here before the genuine one.
    answered = [json.loads(m.payload).get("id") for m in admin.messages if "result" in m.topic]
    assert not set(forged) & set(answered)
    state = admin.wait_for(
        lambda m: m.topic == t.relay_state("line1", "relay_1") and b'"lock"' in m.payload,
        what="the locked state",
    )
    lock = RelayState.model_validate_json(state.payload).lock
    assert lock is not None and lock.by == "alice"
    # The writer's command is refused by the gateway like anyone's.
    with MqttProbe(plant_broker.url_for("scada"), []) as scada:
        command_id = uuid.uuid4().hex
        command = {"on": True, "id": command_id, "by": "scada", "deadline": time.time() + 30}
        scada.publish(t.relay_set("line1", "relay_1"), json.dumps(command))
    refused = admin.wait_for(
        lambda m: m.topic.endswith("/result") and command_id.encode() in m.payload,
        what="the writer's command refused",
    )
    assert CommandResult.model_validate_json(refused.payload).error == "locked"
