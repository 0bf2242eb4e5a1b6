"""The gateway against a real Mosquitto, in process, on the fake RPi.GPIO board."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from types import ModuleType

import pytest
from gw_helpers import (
    DOOR,
    GW,
    HORN,
    LIGHT,
    MOTOR,
    VALVE,
    GatewayFactory,
    command,
    is_online,
    result_for,
    topics,
)

from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe, Received
from devtools.waits import wait_for
from factory_core.contract import (
    CommandResult,
    DeviceState,
    GatewayMeta,
    RelayState,
    decode,
)

RELAYS = ("motor", "light", "horn", "valve")


def on_topic(topic: str, pred: object = None) -> object:
    return lambda m: m.topic == topic and (pred is None or pred(m))  # type: ignore[operator]


def payload(m: Received) -> object:
    return decode(topics, m.topic, m.payload).payload


def relay_state(m: Received) -> RelayState:
    state = payload(m)
    assert isinstance(state, RelayState)
    return state


def send(probe: MqttProbe, relay: str, body: bytes, **kw: object) -> None:
    probe.publish(topics.relay_set(GW, relay), body, **kw)  # type: ignore[arg-type]


def result(probe: MqttProbe, cid: str) -> CommandResult:
    res = payload(probe.wait_for(result_for(cid), what=f"result of {cid}"))
    assert isinstance(res, CommandResult)
    return res


def test_on_connect_it_publishes_the_full_contract(
    start_gateway: GatewayFactory, probe: MqttProbe
) -> None:
    start_gateway()
    probe.wait_for(is_online, what="online")
    meta = payload(probe.wait_for(on_topic(topics.meta(GW)), what="meta"))
    assert isinstance(meta, GatewayMeta)
    assert [r.id for r in meta.relays] == list(RELAYS)
    assert {d.id: d.kind for d in meta.devices} == {"oven": "temperature", "door": "digital_input"}
    for relay in RELAYS:
        state = relay_state(probe.wait_for(on_topic(topics.relay_state(GW, relay))))
        assert (state.on, state.reason) == (False, "boot")
    oven = payload(probe.wait_for(on_topic(topics.device_state(GW, "oven"))))
    assert isinstance(oven, DeviceState) and oven.value == 21.44 and oven.quality == "good"
    door = payload(probe.wait_for(on_topic(topics.device_state(GW, "door"))))
    assert isinstance(door, DeviceState) and door.value is False
    probe.wait_for(on_topic(topics.system(GW)), what="system stats")
    # Every message decodes under the contract and seq rises by one per message.
    ours = [m for m in probe.messages if m.topic.startswith(f"factory/{GW}/")]
    seqs = []
    for m in ours:
        p = payload(m)
        if isinstance(p, DeviceState | RelayState):
            seqs.append(p.seq)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_input_edges_and_an_unreadable_sensor_are_published(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType, tmp_path: Path
) -> None:
    start_gateway()
    door_topic = topics.device_state(GW, "door")
    probe.wait_for(on_topic(door_topic), what="door state")
    gpio.drive(DOOR, 0)  # the door switch closes to ground (active low)
    probe.wait_for(
        on_topic(door_topic, lambda m: json.loads(m.payload)["value"] is True), what="door edge"
    )
    for f in (tmp_path / "w1").glob("28-*/w1_slave"):
        f.unlink()
    bad = probe.wait_for(
        on_topic(topics.device_state(GW, "oven"), lambda m: b'"bad"' in m.payload),
        what="oven quality bad",
    )
    state = payload(bad)
    assert isinstance(state, DeviceState) and state.value is None


def test_a_command_switches_reads_back_and_answers(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    start_gateway()
    probe.wait_for(is_online)
    send(
        probe,
        "motor",
        command("motor", True, "cmd-1"),
        response_topic="replies/t1",
        correlation=b"k1",
    )
    res = result(probe, "cmd-1")
    assert (res.ok, res.on, res.error) == (True, True, None)
    assert gpio.level(MOTOR) == gpio.LOW  # active low: on = low
    state = relay_state(
        probe.wait_for(on_topic(topics.relay_state(GW, "motor"), lambda m: b"cmd-1" in m.payload))
    )
    assert (state.on, state.cmd, state.reason) == (True, "cmd-1", "command")
    reply = probe.wait_for(on_topic("replies/t1"), what="answer on the response topic")
    assert json.loads(reply.payload)["ok"] is True
    assert reply.properties is not None and reply.properties.CorrelationData == b"k1"
    # the new state comes before the result: a requester that has its result can read it
    idx = {id(m): i for i, m in enumerate(probe.messages)}
    res_msg = probe.wait_for(result_for("cmd-1"))
    state_msg = probe.wait_for(
        on_topic(topics.relay_state(GW, "motor"), lambda m: b"cmd-1" in m.payload)
    )
    assert idx[id(state_msg)] < idx[id(res_msg)]


def test_a_duplicate_id_runs_once_also_across_a_restart(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    first = start_gateway()
    probe.wait_for(is_online)
    send(probe, "light", command("light", True, "dup-1"))
    assert result(probe, "dup-1").ok
    probe.clear()
    send(probe, "light", command("light", True, "dup-1"))
    again = result(probe, "dup-1")
    assert (again.ok, again.error, again.on) == (False, "duplicate", True)
    writes = list(gpio.writes)

    first.stop()
    gpio.reset()
    probe.clear()
    start_gateway()
    probe.wait_for(is_online)
    send(probe, "light", command("light", True, "dup-1"))
    after_restart = result(probe, "dup-1")
    assert (after_restart.ok, after_restart.error) == (False, "duplicate")
    assert gpio.writes == []  # nothing switched by the redelivered command
    assert writes.count((LIGHT, 1)) == 1


def test_expired_and_malformed_commands_move_no_pin(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    start_gateway()
    probe.wait_for(is_online)
    send(probe, "motor", command("motor", True, "old-1", deadline=time.time() - 60))
    expired = result(probe, "old-1")
    assert (expired.ok, expired.error, expired.on) == (False, "expired", False)
    send(probe, "motor", b'{"on": "please", "id": "bad-1"}')
    invalid = result(probe, "bad-1")
    assert invalid.error == "invalid" and invalid.detail and "on" in invalid.detail
    send(probe, "nosuch", command("nosuch", True, "unk-1"))
    assert result(probe, "unk-1").error == "unknown_relay"
    probe.publish(f"factory/{GW}/relays/motor/set/extra", b"x")
    probe.publish(topics.relay_set(GW, "motor"), b"\xff\x00" * 10)
    # Still alive and answering; handled after the junk, so the only write is this one's.
    send(probe, "motor", command("motor", True, "ok-1"))
    assert result(probe, "ok-1").ok
    assert gpio.writes == [(MOTOR, gpio.LOW)]  # active-low: on


def test_a_retained_command_is_ignored(
    broker_env: LocalBroker, start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    send(probe, "motor", command("motor", True, "ret-1"), retain=True)
    start_gateway()
    probe.wait_for(is_online)
    send(probe, "light", command("light", True, "ret-2"), retain=True)  # live, retained
    send(probe, "valve", command("valve", True, "marker"))
    assert result(probe, "marker").ok
    assert not [m for m in probe.messages if result_for("ret-1")(m) or result_for("ret-2")(m)]
    assert (gpio.level(MOTOR), gpio.level(LIGHT)) == (gpio.HIGH, gpio.LOW)  # both still off


def test_a_stuck_pin_is_reported_as_readback_mismatch(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    start_gateway()
    probe.wait_for(is_online)
    gpio.stick(LIGHT, gpio.LOW)
    send(probe, "light", command("light", True, "stuck-1"))
    res = result(probe, "stuck-1")
    assert (res.ok, res.error, res.on) == (False, "readback_mismatch", False)
    state = relay_state(
        probe.wait_for(on_topic(topics.relay_state(GW, "light"), lambda m: b"stuck-1" in m.payload))
    )
    assert state.on is False


def test_a_pin_that_cannot_be_read_is_a_hardware_error_not_an_unknown_relay(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    start_gateway()
    probe.wait_for(is_online)
    gpio.cleanup(LIGHT)  # the driver lost the pin: RPi.GPIO refuses to read it now
    send(probe, "light", command("light", True, "lost-1"))
    res = result(probe, "lost-1")
    assert (res.ok, res.error) == (False, "hardware_error")
    assert res.detail and "input" in res.detail


def test_pulse_and_minimum_interval(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    start_gateway()
    probe.wait_for(is_online)
    send(probe, "horn", command("horn", True, "p-1"))
    assert result(probe, "p-1").on is True
    ended = relay_state(
        probe.wait_for(
            on_topic(topics.relay_state(GW, "horn"), lambda m: b"pulse_end" in m.payload),
            what="pulse end",
        )
    )
    assert (ended.on, ended.cmd) == (False, "p-1")
    assert gpio.level(HORN) == gpio.LOW
    send(probe, "valve", command("valve", True, "v-1"))
    assert result(probe, "v-1").ok
    send(probe, "valve", command("valve", False, "v-2"))
    too_soon = result(probe, "v-2")
    assert (too_soon.ok, too_soon.error, too_soon.on) == (False, "too_soon", True)
    assert gpio.level(VALVE) == gpio.HIGH


def test_rebirth_and_broker_restart_bring_back_the_full_state(
    broker_env: LocalBroker, start_gateway: GatewayFactory, gpio: ModuleType
) -> None:
    start_gateway()
    with MqttProbe(broker_env.url, ["factory/#"]) as probe:
        probe.wait_for(is_online)
        send(probe, "light", command("light", True, "l-1"))
        assert result(probe, "l-1").ok
        probe.clear()
        probe.publish(topics.rebirth(), b"")
        probe.wait_for(on_topic(topics.meta(GW)), what="meta after rebirth")
        probe.wait_for(on_topic(topics.relay_state(GW, "motor")), what="states after rebirth")

    broker_env.restart(wipe_persistence=True)
    with MqttProbe(broker_env.url, ["factory/#"]) as probe:
        probe.wait_for(is_online, timeout=20, what="online after restart")
        probe.wait_for(on_topic(topics.meta(GW)), what="meta after restart")
        for relay in RELAYS:
            probe.wait_for(on_topic(topics.relay_state(GW, relay)), what=f"{relay} after restart")
        light = relay_state(probe.wait_for(on_topic(topics.relay_state(GW, "light"))))
        assert (light.on, light.cmd) == (True, "l-1")
        probe.wait_for(on_topic(topics.device_state(GW, "door")))
        probe.wait_for(on_topic(topics.device_state(GW, "oven")))


def test_link_loss_drives_safe_relays_and_leaves_hold_relays(
    broker_env: LocalBroker,
    start_gateway: GatewayFactory,
    gpio: ModuleType,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.audit")
    start_gateway(link_loss_timeout_s=2.0)
    with MqttProbe(broker_env.url, ["factory/#"]) as probe:
        probe.wait_for(is_online)
        send(probe, "motor", command("motor", True, "m-1"))
        send(probe, "light", command("light", True, "l-1"))
        assert result(probe, "m-1").ok and result(probe, "l-1").ok
    cut = time.time()  # before the gateway can see the link go (its timer starts then)
    broker_env.stop()
    # Eventually: a busy box may be late. Never early: the audit record of the move.
    wait_for(lambda: gpio.level(MOTOR) == gpio.HIGH, 2.0 + 20, "motor (policy safe) off")
    moved = [r for r in caplog.records if r.getMessage().startswith("relay motor: control link")]
    assert moved, "the link-loss move is not in the audit log"
    assert moved[0].created - cut >= 2.0, f"motor moved {moved[0].created - cut:.2f} s after"

    broker_env.start()
    with MqttProbe(broker_env.url, ["factory/#"]) as probe:
        state = relay_state(
            probe.wait_for(
                on_topic(topics.relay_state(GW, "motor"), lambda m: b"link_loss" in m.payload),
                timeout=20,
                what="motor link_loss state after reconnect",
            )
        )
        assert state.on is False
        # Published once the link-loss check had gone over every relay: the light was left.
        light = relay_state(probe.wait_for(on_topic(topics.relay_state(GW, "light"))))
        assert light.on is True
        assert gpio.level(LIGHT) == gpio.HIGH, "light (policy hold) must stay on"
