"""Home Assistant discovery payloads (pure): what HA would read from the retained topics."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from conftest import GatewayFactory
from gw_helpers import GW, board

from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe, Received
from factory_core.contract import (
    DeviceInfo,
    DeviceState,
    GatewayMeta,
    RelayCommand,
    RelayInfo,
    RelayState,
    Topics,
)
from gateway.discovery import discovery_filter, discovery_messages, removals

topics = Topics()
META = GatewayMeta(
    version="0.1.0",
    name="Line 1",
    devices=[
        DeviceInfo(id="temperature", name="Oven", kind="temperature", unit="°C"),
        DeviceInfo(id="vibration", name="Spindle", kind="vibration", unit="mm/s"),
        DeviceInfo(id="door", name="Door", kind="digital_input"),
    ],
    relays=[RelayInfo(id="relay_1", name="Conveyor motor")],
)


def _ha_env() -> jinja2.Environment:
    """The subset of Home Assistant's template functions our templates use."""
    env = jinja2.Environment(autoescape=False)
    env.globals["now"] = lambda: datetime.now(UTC)
    env.globals["as_timestamp"] = lambda d: d.timestamp()
    return env


def _by_topic() -> dict[str, dict[str, object]]:
    return {m.topic: json.loads(m.payload) for m in discovery_messages(topics, "line1", META)}


def test_each_entity_has_the_right_component_and_shares_one_device() -> None:
    configs = _by_topic()
    assert set(configs) == {
        "homeassistant/switch/factory_line1/relay_1/config",
        "homeassistant/sensor/factory_line1/temperature/config",
        "homeassistant/sensor/factory_line1/vibration/config",
        "homeassistant/binary_sensor/factory_line1/door/config",
    }
    devices = {json.dumps(c["device"], sort_keys=True) for c in configs.values()}
    assert len(devices) == 1
    for config in configs.values():
        assert config["availability_topic"] == topics.status("line1")
        assert config["unique_id"]
    temp = configs["homeassistant/sensor/factory_line1/temperature/config"]
    assert temp["device_class"] == "temperature"
    assert temp["unit_of_measurement"] == "°C"
    assert "device_class" not in configs["homeassistant/sensor/factory_line1/vibration/config"]


def test_templates_read_our_state_payloads() -> None:
    env = _ha_env()
    configs = _by_topic()
    relay = configs["homeassistant/switch/factory_line1/relay_1/config"]
    on_state = RelayState(on=True, ts=1, seq=1).to_bytes()
    value_json = json.loads(on_state)
    assert env.from_string(str(relay["value_template"])).render(value_json=value_json) == "ON"
    door = configs["homeassistant/binary_sensor/factory_line1/door/config"]
    closed = json.loads(DeviceState(value=False, ts=1, seq=1).to_bytes())
    assert env.from_string(str(door["value_template"])).render(value_json=closed) == "OFF"


def test_a_home_assistant_switch_command_is_a_valid_contract_command() -> None:
    relay = _by_topic()["homeassistant/switch/factory_line1/relay_1/config"]
    template = _ha_env().from_string(str(relay["command_template"]))
    first = RelayCommand.model_validate_json(template.render(value="ON"))
    second = RelayCommand.model_validate_json(template.render(value="OFF"))
    assert first.on is True and second.on is False
    assert first.id != second.id, "every HA command needs its own id (executed at most once)"
    assert time.time() < first.deadline < time.time() + 60
    assert relay["command_topic"] == topics.relay_set("line1", "relay_1")
    assert relay["retain"] is False


def test_devices_that_left_the_config_are_removed() -> None:
    current = discovery_messages(topics, "line1", META)
    old = [m.topic for m in current] + ["homeassistant/sensor/factory_line1/humidity/config"]
    gone = removals(old, current)
    assert [(m.topic, m.payload) for m in gone] == [
        ("homeassistant/sensor/factory_line1/humidity/config", b"")
    ]
    assert discovery_filter("homeassistant", "line1") == "homeassistant/+/factory_line1/+/config"


# ------------------------------------------------- the gateway publishing them (real broker)

HA = "homeassistant"
HA_ON = {"home_assistant": {"enabled": True, "removal_window_s": 0.5}}


def _config_topic(component: str, item: str) -> str:
    return f"{HA}/{component}/factory_{GW}/{item}/config"


EXPECTED = {
    **{_config_topic("switch", r): r for r in ("motor", "light", "horn", "valve")},
    _config_topic("binary_sensor", "door"): "door",
    _config_topic("sensor", "oven"): "oven",
}


def _configs(probe: MqttProbe) -> dict[str, dict[str, object]]:
    """Every non-empty discovery config seen, by topic (the last one wins)."""
    return {
        m.topic: json.loads(m.payload)
        for m in probe.messages
        if m.topic.startswith(f"{HA}/") and m.topic != f"{HA}/status" and m.payload
    }


def _wait_for_all(probe: MqttProbe, topics_wanted: set[str]) -> dict[str, dict[str, object]]:
    def has_all(_m: Received) -> bool:
        return topics_wanted <= set(_configs(probe))

    probe.wait_for(has_all, what=f"configs {sorted(topics_wanted)}")
    return _configs(probe)


def test_discovery_is_off_by_default(
    start_gateway: GatewayFactory, broker_env: LocalBroker
) -> None:
    with MqttProbe(broker_env.url, [f"{HA}/#", topics.meta(GW)]) as ha:
        start_gateway()
        ha.wait_for(lambda m: m.topic == topics.meta(GW), what="meta")
        # Discovery would be queued right behind the first meta: a rebirth's meta comes later.
        ha.publish(topics.rebirth(), b"")
        ha.wait_for(lambda m: len(ha.on_topic(topics.meta(GW))) > 1, what="second meta")
        assert _configs(ha) == {}


def test_the_gateway_announces_its_entities_to_home_assistant(
    start_gateway: GatewayFactory, broker_env: LocalBroker
) -> None:
    with MqttProbe(broker_env.url, [f"{HA}/#"]) as ha:
        start_gateway(**HA_ON)
        configs = _wait_for_all(ha, set(EXPECTED))
        assert set(configs) == set(EXPECTED)
        for topic, item in EXPECTED.items():
            config = configs[topic]
            assert config["availability_topic"] == topics.status(GW)
            assert config["unique_id"] == f"factory_{GW}_{item}"
            assert config["device"]["name"] == "Test board"  # type: ignore[index]
            if "/switch/" in topic:
                assert config["state_topic"] == topics.relay_state(GW, item)
                assert config["command_topic"] == topics.relay_set(GW, item)
            else:
                assert config["state_topic"] == topics.device_state(GW, item)
                assert "command_topic" not in config
        assert configs[_config_topic("sensor", "oven")]["unit_of_measurement"] == "°C"

        # Home Assistant (re)starts and announces itself: the configs come again.
        ha.clear()
        ha.publish(f"{HA}/status", "online")
        assert set(_wait_for_all(ha, set(EXPECTED))) == set(EXPECTED)

    with MqttProbe(broker_env.url, [f"{HA}/+/factory_{GW}/+/config"]) as late:
        assert late.wait_for(lambda m: m.topic in EXPECTED).retain, "configs must be retained"


def test_a_sensor_removed_from_the_config_is_removed_from_home_assistant(
    start_gateway: GatewayFactory, broker_env: LocalBroker, tmp_path: Path
) -> None:
    spare = {
        "type": "simulated",
        "id": "spare",
        "name": "Spare",
        "kind": "pressure",
        "unit": "bar",
        "setpoint": 6.0,
    }
    oven = board(tmp_path)["sensors"][0]
    spare_topic = _config_topic("sensor", "spare")
    with MqttProbe(broker_env.url, [f"{HA}/#"]) as ha:
        first = start_gateway(sensors=[oven, spare], **HA_ON)
        _wait_for_all(ha, {*EXPECTED, spare_topic})
        first.stop()
        ha.clear()
        start_gateway(**HA_ON)
        cleared = ha.wait_for(lambda m: m.topic == spare_topic, timeout=15, what="removal")
        assert cleared.payload == b""
        _wait_for_all(ha, set(EXPECTED))
        assert all(not m.payload for m in ha.messages if m.topic == spare_topic)

    # What Home Assistant reads when it starts now: the current entities and nothing else.
    with MqttProbe(broker_env.url, [f"{HA}/+/factory_{GW}/+/config", "test/barrier"]) as late:
        # The broker sends retained messages right after the SUBACK, before a later publish.
        late.publish("test/barrier", b"")
        late.wait_for(lambda m: m.topic == "test/barrier", what="barrier")
        assert set(_configs(late)) == set(EXPECTED)
