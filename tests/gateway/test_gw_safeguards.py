"""Relay safeguards at the gateway, against a real Mosquitto, commanded by a plain MQTT client
(as a plant system or Home Assistant would): interlocks and their trips, maintenance locks,
which rule wins, all to safe, wear and the gateway's own command latency."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from gw_helpers import (
    DOOR,
    GW,
    LIGHT,
    MOTOR,
    GatewayFactory,
    board,
    command,
    is_online,
    result_for,
    topics,
)

from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe, Received
from devtools.waits import wait_for
from factory_core.contract import CommandResult, RelayState, SystemStats, decode
from gateway.service import Gateway

PUMP_A, PUMP_B, PRESS = 20, 21, 22
SAFEGUARDED: dict[str, Any] = {
    "relays": [
        {"id": "motor", "name": "Motor", "pin": MOTOR, "active_low": True},
        {"id": "light", "name": "Light", "pin": LIGHT, "confirm": True},
        {"id": "pump_a", "name": "Pump A", "pin": PUMP_A},
        {"id": "pump_b", "name": "Pump B", "pin": PUMP_B},
        {"id": "press", "name": "Press", "pin": PRESS},
    ],
    "interlocks": [
        {"id": "light_needs_motor", "kind": "requires", "relay": "light", "other": "motor"},
        {"id": "one_pump", "kind": "excludes", "relay": "pump_a", "other": "pump_b"},
        {"id": "guard_shut", "kind": "permissive", "relay": "press", "other": "door"},
    ],
}


def start(start_gateway: GatewayFactory, probe: MqttProbe) -> Gateway:
    gateway = start_gateway(**SAFEGUARDED)
    probe.wait_for(is_online, what="online")
    probe.wait_for(lambda m: m.topic == topics.relay_state(GW, "press"), what="states")
    return gateway


def switch(probe: MqttProbe, relay: str, on: bool) -> CommandResult:
    cid = uuid.uuid4().hex
    probe.publish(topics.relay_set(GW, relay), command(relay, on, cid))
    return answer(probe, cid)


def answer(probe: MqttProbe, cid: str) -> CommandResult:
    msg = probe.wait_for(result_for(cid), what=f"result of {cid}")
    result = CommandResult.model_validate_json(msg.payload)
    return result


def lock(
    probe: MqttProbe, relay: str, locked: bool, by: str, role: str = "operator"
) -> CommandResult:
    cid = uuid.uuid4().hex
    body = {"lock": locked, "id": cid, "by": by, "role": role, "deadline": time.time() + 30}
    if locked:
        body["reason"] = "changing the belt"
    probe.publish(topics.relay_lock(GW, relay), json.dumps(body))
    return answer(probe, cid)


def states(probe: MqttProbe, relay: str) -> list[RelayState]:
    found = []
    for m in probe.on_topic(topics.relay_state(GW, relay)):
        state = decode(topics, m.topic, m.payload).payload
        assert isinstance(state, RelayState)
        found.append(state)
    return found


def wait_state(probe: MqttProbe, relay: str, **expected: object) -> RelayState:
    def match(m: Received) -> bool:
        if m.topic != topics.relay_state(GW, relay):
            return False
        data = json.loads(m.payload)
        return all(data.get(k) == v for k, v in expected.items())

    msg = probe.wait_for(match, what=f"{relay} state {expected}")
    state = RelayState.model_validate_json(msg.payload)
    return state


def test_requires_refuses_before_any_pin_moves_and_trips_when_the_needed_relay_goes_off(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    start(start_gateway, probe)
    refused = switch(probe, "light", True)
    assert (refused.ok, refused.error, refused.on) == (False, "interlocked", False)
    assert refused.detail == "interlock light_needs_motor: light may be on only while motor is on"
    assert gpio.level(LIGHT) == 0
    assert switch(probe, "motor", True).ok
    assert switch(probe, "light", True).ok and gpio.level(LIGHT) == 1
    assert switch(probe, "motor", False).ok
    tripped = wait_state(probe, "light", on=False, reason="trip")
    assert tripped.rule == "light_needs_motor"
    assert gpio.level(LIGHT) == 0
    # The dependent went first: its trip was published before the motor's own state.
    order = [
        m.topic.split("/")[3]
        for m in probe.messages
        if m.topic.endswith("/state") and b'"on":false' in m.payload and b"boot" not in m.payload
    ]
    assert order[-2:] == ["light", "motor"]


def test_excludes_refuses_either_relay_while_the_other_is_on(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    start(start_gateway, probe)
    assert switch(probe, "pump_b", True).ok
    refused = switch(probe, "pump_a", True)
    assert (refused.error, refused.detail) == (
        "interlocked",
        "interlock one_pump: pump_a and pump_b are never both on",
    )
    assert gpio.level(PUMP_A) == 0
    assert switch(probe, "pump_b", False).ok
    assert switch(probe, "pump_a", True).ok
    assert switch(probe, "pump_b", True).error == "interlocked"


def test_a_permissive_input_gates_the_relay_and_trips_it_when_it_changes(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    start(start_gateway, probe)
    gpio.drive(DOOR, 1)  # the guard door is open (the switch to ground is open)
    refused = switch(probe, "press", True)
    assert (refused.error, refused.detail) == (
        "interlocked",
        "interlock guard_shut: press may be on only while input door is True",
    )
    gpio.drive(DOOR, 0)  # shut
    probe.wait_for(
        lambda m: m.topic == topics.device_state(GW, "door") and b'"value":true' in m.payload,
        what="door shut",
    )
    assert switch(probe, "press", True).ok and gpio.level(PRESS) == 1
    gpio.drive(DOOR, 1)  # someone opens the guard
    tripped = wait_state(probe, "press", on=False, reason="trip")
    assert tripped.rule == "guard_shut"
    assert gpio.level(PRESS) == 0


def test_a_lock_refuses_every_command_and_only_its_locker_or_an_admin_lifts_it(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    start(start_gateway, probe)
    assert switch(probe, "pump_a", True).ok
    locked = lock(probe, "pump_a", True, by="alice")
    assert (locked.ok, locked.on) == (True, True)
    state = wait_state(probe, "pump_a", on=True)
    state = states(probe, "pump_a")[-1]
    assert state.lock is not None and (state.lock.by, state.lock.reason) == (
        "alice",
        "changing the belt",
    )
    refused = switch(probe, "pump_a", False)
    assert refused.error == "locked" and gpio.level(PUMP_A) == 1
    assert refused.detail is not None
    assert refused.detail.startswith("locked by alice since ")
    assert refused.detail.endswith(": changing the belt")
    again = lock(probe, "pump_a", True, by="bob")
    assert again.error == "locked"
    other = lock(probe, "pump_a", False, by="bob")
    assert other.error == "forbidden"
    assert other.detail is not None and "only alice or an admin may unlock it" in other.detail
    assert lock(probe, "pump_a", False, by="carol", role="admin").ok
    assert states(probe, "pump_a")[-1].lock is None
    assert switch(probe, "pump_a", False).ok and gpio.level(PUMP_A) == 0


def test_which_rule_wins_safe_state_over_lock_lock_over_interlock(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    """A trip drives a locked relay to its safe state (the lock stays); a lock refuses even
    a command every interlock allows; an interlock refuses what would break it."""
    start(start_gateway, probe)
    assert switch(probe, "motor", True).ok
    assert switch(probe, "light", True).ok
    assert lock(probe, "light", True, by="alice").ok
    assert switch(probe, "motor", False).ok  # the motor is not locked: it may go off
    tripped = wait_state(probe, "light", on=False, reason="trip")
    assert tripped.lock is not None and tripped.lock.by == "alice"
    assert gpio.level(LIGHT) == 0
    assert switch(probe, "motor", True).ok
    assert switch(probe, "light", True).error == "locked"  # allowed by the interlock now
    assert lock(probe, "light", False, by="alice").ok
    assert switch(probe, "motor", False).ok
    assert switch(probe, "light", True).error == "interlocked"


def test_all_to_safe_drives_every_relay_locked_ones_too(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    start(start_gateway, probe)
    for relay in ("motor", "light", "pump_a"):
        assert switch(probe, relay, True).ok
    assert lock(probe, "pump_a", True, by="alice").ok
    cid = uuid.uuid4().hex
    body = {"id": cid, "by": "alice", "deadline": time.time() + 30}
    probe.publish(topics.all_to_safe(GW), json.dumps(body))
    msg = probe.wait_for(
        lambda m: m.topic == topics.all_to_safe_result(GW) and cid.encode() in m.payload,
        what="all to safe result",
    )
    result = CommandResult.model_validate_json(msg.payload)
    assert result.ok, result.detail
    # Dependents first: the light (which needs the motor) before the motor.
    assert result.detail == "every relay at its safe state; moved: light, pump_a, motor"
    assert [gpio.level(p) for p in (MOTOR, LIGHT, PUMP_A)] == [1, 0, 0]  # motor is active low
    assert wait_state(probe, "motor", on=False, reason="all_to_safe").cmd == cid
    assert states(probe, "pump_a")[-1].lock is not None  # still locked, now safe


def test_locks_and_wear_survive_a_gateway_restart(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType, tmp_path: Path
) -> None:
    first = start(start_gateway, probe)
    for on in (True, False, True):
        assert switch(probe, "pump_b", on).ok
    assert lock(probe, "pump_b", True, by="alice").ok
    time.sleep(0.2)  # some on-time to count (a duration, not a wait for an event)
    first.stop()
    probe.messages.clear()
    start(start_gateway, probe)
    state = states(probe, "pump_b")[-1]
    assert state.on is False  # its shutdown and boot safe state
    assert state.lock is not None and state.lock.by == "alice"
    assert state.cycles == 2
    assert state.on_time_s is not None and state.on_time_s >= 0.2
    assert switch(probe, "pump_b", True).error == "locked"


def test_the_gateway_publishes_its_own_command_latency(
    start_gateway: GatewayFactory, probe: MqttProbe
) -> None:
    gateway = start(start_gateway, probe)
    assert switch(probe, "motor", True).ok
    stats_msg = probe.wait_for(
        lambda m: m.topic == topics.system(GW) and b"command_latency_s" in m.payload,
        what="system stats with the command latency",
    )
    stats = SystemStats.model_validate_json(stats_msg.payload)
    assert stats.command_latency_s is not None and 0 < stats.command_latency_s < 5
    count = gateway.metrics.registry.get_sample_value(
        "factory_gateway_actuation_latency_seconds_count"
    )
    assert count == 1


def test_the_meta_carries_the_rules_and_the_confirm_flags(
    start_gateway: GatewayFactory, probe: MqttProbe, tmp_path: Path
) -> None:
    start(start_gateway, probe)
    msg = probe.wait_for(lambda m: m.topic == topics.meta(GW), what="meta")
    meta = json.loads(msg.payload)
    assert [r["id"] for r in meta["relays"] if r.get("confirm")] == ["light"]
    assert [r.pop("state") for r in meta["interlocks"]] == [True, True, True]
    assert meta["interlocks"] == board(tmp_path, **SAFEGUARDED)["interlocks"]


def test_link_loss_drives_a_locked_relay_to_safe_and_trips_what_needed_it_first(
    start_gateway: GatewayFactory, broker_env: LocalBroker, gpio: ModuleType
) -> None:
    """The light (policy hold) needs the motor (policy safe, locked): at link loss the motor
    goes to its safe state despite its lock, and the light trips before it."""
    relays = [
        {"id": "motor", "name": "Motor", "pin": MOTOR, "active_low": True},
        {"id": "light", "name": "Light", "pin": LIGHT, "on_link_loss": "hold"},
    ]
    rules = [{"id": "light_needs_motor", "kind": "requires", "relay": "light", "other": "motor"}]
    start_gateway(relays=relays, interlocks=rules, link_loss_timeout_s=1.0)
    with MqttProbe(broker_env.url, ["factory/#"]) as probe:
        probe.wait_for(is_online)
        assert switch(probe, "motor", True).ok and switch(probe, "light", True).ok
        assert lock(probe, "motor", True, by="alice").ok
    broker_env.stop()
    # A pin is polled: the gateway can tell nobody while the broker is down.
    wait_for(lambda: gpio.level(MOTOR) == 1, 20, "the locked motor driven to its safe state")
    assert gpio.level(LIGHT) == 0, "the light that needs it must trip, hold or not"
    broker_env.start()
    with MqttProbe(broker_env.url, ["factory/#"]) as probe:
        motor = wait_state(probe, "motor", on=False, reason="link_loss")
        assert motor.lock is not None and motor.lock.by == "alice"
        light = wait_state(probe, "light", on=False, reason="trip")
        assert light.rule == "light_needs_motor"
