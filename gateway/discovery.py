"""Home Assistant MQTT discovery payloads for one gateway (pure, built from its meta).

Relays become `switch`, digital inputs `binary_sensor`, everything else `sensor`; all share
one Home Assistant device per gateway and our status topic for availability. Home Assistant
switches speak our command contract through a `command_template` that adds a unique id and a
deadline, so a command HA sends late is rejected like any other.

Home Assistant renders templates in Jinja's sandbox (``range`` capped at 100,000 items) with
its own globals (``now()``, ``as_timestamp``) and a ``random`` filter; the templates here use
nothing else. Supported: Home Assistant 2024.8 or later (the MQTT switch's
`command_template` arrived then; earlier releases drop the key and send a bare ``ON``). The
entity id comes from ``default_entity_id`` on 2025.10 and later and from ``object_id`` before
(both are sent: each release ignores the key it does not know, and 2026.4 ignores
``object_id``), so entity ids stay the same across an upgrade.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from factory_core.contract import DeviceInfo, GatewayMeta, RelayInfo, Topics
from factory_core.ha_topics import (
    DEFAULT_DISCOVERY_PREFIX,
    config_topic,
    discovery_filter,
    node_id,
    status_topic,
)

__all__ = [
    "DEFAULT_DISCOVERY_PREFIX",
    "DiscoveryMessage",
    "config_topic",
    "discovery_filter",
    "discovery_messages",
    "node_id",
    "removals",
    "status_topic",
]

BINARY_KINDS: Final = frozenset({"digital_input"})
# Our device kinds that have a Home Assistant sensor device_class of the same meaning.
SENSOR_DEVICE_CLASSES: Final = {
    "temperature": "temperature",
    "cpu_temperature": "temperature",
    "humidity": "humidity",
    "pressure": "pressure",
}
COMMAND_TTL_S: Final = 10
# Jinja's sandbox refuses a range longer than this (OverflowError, nothing is published).
SANDBOX_MAX_RANGE: Final = 100_000


@dataclass(frozen=True, slots=True)
class DiscoveryMessage:
    topic: str
    payload: bytes  # empty = remove the entity


def _device_block(gateway: str, meta: GatewayMeta) -> dict[str, Any]:
    return {
        "identifiers": [node_id(gateway)],
        "name": meta.name or gateway,
        "manufacturer": "Factory IoT",
        "model": "gateway",
        "sw_version": meta.version,
    }


def _common(
    topics: Topics, gateway: str, component: str, item_id: str, name: str
) -> dict[str, Any]:
    object_id = f"{node_id(gateway)}_{item_id}"
    return {
        "name": name,
        "unique_id": object_id,
        "default_entity_id": f"{component}.{object_id}",  # Home Assistant 2025.10 and later
        "object_id": object_id,  # before 2025.10; ignored from 2026.4
        "availability_topic": topics.status(gateway),
        "payload_available": "online",
        "payload_not_available": "offline",
    }


def _relay_config(topics: Topics, gateway: str, relay: RelayInfo) -> dict[str, Any]:
    return {
        **_common(topics, gateway, "switch", relay.id, relay.name),
        "state_topic": topics.relay_state(gateway, relay.id),
        "value_template": "{{ 'ON' if value_json.on else 'OFF' }}",
        "command_topic": topics.relay_set(gateway, relay.id),
        # The id: microseconds since the epoch and a random number, unique enough for the
        # gateway's at-most-once rule (a repeated id is rejected as a duplicate).
        "command_template": (
            '{"on": {{ "true" if value == "ON" else "false" }}, '
            '"id": "ha-{{ (as_timestamp(now()) * 1000000) | int }}-'
            f'{{{{ range({SANDBOX_MAX_RANGE}) | random }}}}", '
            '"by": "homeassistant", '
            f'"deadline": {{{{ as_timestamp(now()) + {COMMAND_TTL_S} }}}}}}'
        ),
        "payload_on": "ON",
        "payload_off": "OFF",
        "state_on": "ON",
        "state_off": "OFF",
        "optimistic": False,
        "qos": 1,
        "retain": False,
    }


def _device_config(topics: Topics, gateway: str, device: DeviceInfo) -> tuple[str, dict[str, Any]]:
    component = "binary_sensor" if device.kind in BINARY_KINDS else "sensor"
    base = {
        **_common(topics, gateway, component, device.id, device.name),
        "state_topic": topics.device_state(gateway, device.id),
    }
    if component == "binary_sensor":
        base["value_template"] = "{{ 'ON' if value_json.value else 'OFF' }}"
        base["payload_on"] = "ON"
        base["payload_off"] = "OFF"
        return "binary_sensor", base
    base["value_template"] = "{{ value_json.value }}"
    base["state_class"] = "measurement"
    if device.unit:
        base["unit_of_measurement"] = device.unit
    if device.kind in SENSOR_DEVICE_CLASSES:
        base["device_class"] = SENSOR_DEVICE_CLASSES[device.kind]
    return "sensor", base


def discovery_messages(
    topics: Topics, gateway: str, meta: GatewayMeta, prefix: str = DEFAULT_DISCOVERY_PREFIX
) -> list[DiscoveryMessage]:
    """One retained config message per relay, input and sensor of the gateway."""
    device = _device_block(gateway, meta)
    out: list[DiscoveryMessage] = []
    for relay in meta.relays:
        config = {**_relay_config(topics, gateway, relay), "device": device}
        out.append(_message(config_topic(prefix, "switch", gateway, relay.id), config))
    for dev in meta.devices:
        component, config = _device_config(topics, gateway, dev)
        config["device"] = device
        out.append(_message(config_topic(prefix, component, gateway, dev.id), config))
    return out


def removals(
    existing_topics: Iterable[str], current: Iterable[DiscoveryMessage]
) -> list[DiscoveryMessage]:
    """Empty retained payloads for entities Home Assistant has but the config no longer does."""
    keep = {m.topic for m in current}
    return [DiscoveryMessage(t, b"") for t in sorted(set(existing_topics) - keep)]


def _message(topic: str, config: dict[str, Any]) -> DiscoveryMessage:
    return DiscoveryMessage(topic, json.dumps(config, separators=(",", ":")).encode())
