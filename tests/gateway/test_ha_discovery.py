"""Home Assistant discovery: the payloads (pure), rendered the way HA renders them, and the
gateway publishing them and obeying the commands HA derives from them (real broker)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import ModuleType

import jinja2
import paho.mqtt.client as paho
import pytest
from gw_helpers import GW, MOTOR, GatewayFactory, board, result_for
from ha_templates import HomeAssistantTemplates
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe, Received
from factory_core.contract import (
    CommandResult,
    DeviceInfo,
    DeviceState,
    GatewayMeta,
    RelayCommand,
    RelayInfo,
    RelayState,
    Topics,
)
from factory_core.settings import parse_mqtt_url
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


HA_ENV = HomeAssistantTemplates()


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
    configs = _by_topic()
    relay = configs["homeassistant/switch/factory_line1/relay_1/config"]
    on_state = RelayState(on=True, ts=1, seq=1).to_bytes()
    assert HA_ENV.render_value(str(relay["value_template"]), on_state) == "ON"
    door = configs["homeassistant/binary_sensor/factory_line1/door/config"]
    closed = DeviceState(value=False, ts=1, seq=1).to_bytes()
    assert HA_ENV.render_value(str(door["value_template"]), closed) == "OFF"
    oven = configs["homeassistant/sensor/factory_line1/temperature/config"]
    warm = DeviceState(value=21.5, unit="°C", ts=1, seq=1).to_bytes()
    assert HA_ENV.render_value(str(oven["value_template"]), warm) == "21.5"


def _render_command(config: dict[str, object], value: str) -> str:
    return HA_ENV.render_command(
        str(config["command_template"]),
        value,
        entity_id=str(config["default_entity_id"]),
        name=str(config["name"]),
    )


def test_a_home_assistant_switch_command_is_a_valid_contract_command() -> None:
    relay = _by_topic()["homeassistant/switch/factory_line1/relay_1/config"]
    first = RelayCommand.model_validate_json(_render_command(relay, str(relay["payload_on"])))
    second = RelayCommand.model_validate_json(_render_command(relay, str(relay["payload_off"])))
    assert first.on is True and second.on is False
    assert first.id != second.id, "every HA command needs its own id (executed at most once)"
    assert time.time() < first.deadline < time.time() + 60
    assert relay["command_topic"] == topics.relay_set("line1", "relay_1")
    assert relay["retain"] is False


def test_home_assistants_sandbox_refuses_what_it_refuses() -> None:
    """The environment above is as strict as HA's where it broke us: a range over 100,000."""
    with pytest.raises(OverflowError):
        HA_ENV.from_string("{{ range(1000000) | random }}").render()
    with pytest.raises(jinja2.exceptions.SecurityError):
        HA_ENV.from_string("{{ [].append(1) }}").render()  # immutable sandbox


def test_entity_ids_for_home_assistant_before_and_after_2025_10() -> None:
    """``default_entity_id`` (2025.10+) names the same entity ``object_id`` named before."""
    for topic, config in _by_topic().items():
        component = topic.split("/")[1]
        assert config["default_entity_id"] == f"{component}.{config['object_id']}"
        assert config["object_id"] == config["unique_id"]  # the entity ids of earlier releases


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


class _HomeAssistantClient:
    """Publishes the way Home Assistant's MQTT integration does: paho, MQTT 3.1.1 (its default)."""

    def __init__(self, url: str) -> None:
        address = parse_mqtt_url(url)
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id="homeassistant-test",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        if address.username:
            self.client.username_pw_set(address.username, address.password)
        self.client.connect(address.host, address.port, keepalive=10)
        self.client.loop_start()

    def publish(self, topic: str, payload: str, qos: int, retain: bool) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_home_assistant_switches_a_relay_end_to_end(
    start_gateway: GatewayFactory, broker_env: LocalBroker, gpio: ModuleType
) -> None:
    """HA's switch as a user toggles it: the discovered config, its templates rendered in HA's
    sandbox, the command published as HA publishes it; the relay moves and the result is ok."""
    switch = _config_topic("switch", "motor")
    with MqttProbe(broker_env.url, [f"{HA}/#", topics.gateway_filter(GW)]) as probe:
        start_gateway(**HA_ON)
        config = _wait_for_all(probe, {switch})[switch]
        ha = _HomeAssistantClient(broker_env.url)
        try:
            # The motor relay is active low: on means the pin is driven low.
            for payload_key, on, level in (("payload_on", True, 0), ("payload_off", False, 1)):
                command = _render_command(config, str(config[payload_key]))
                command_id = json.loads(command)["id"]
                ha.publish(
                    str(config["command_topic"]),
                    command,
                    qos=int(config["qos"]),  # type: ignore[call-overload]
                    retain=bool(config["retain"]),
                )
                answer = probe.wait_for(result_for(command_id), what=f"result of {command_id}")
                result = CommandResult.model_validate_json(answer.payload)
                assert (result.ok, result.on, result.error) == (True, on, None)
                assert gpio.level(MOTOR) == level
                # The state comes before the result: what HA shows for the switch now.
                state = probe.on_topic(str(config["state_topic"]))[-1]
                shown = HA_ENV.render_value(str(config["value_template"]), state.payload)
                assert shown == config["state_on" if on else "state_off"]
        finally:
            ha.close()
