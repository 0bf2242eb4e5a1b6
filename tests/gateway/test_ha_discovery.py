"""Home Assistant discovery payloads (pure): what HA would read from the retained topics."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import jinja2

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
