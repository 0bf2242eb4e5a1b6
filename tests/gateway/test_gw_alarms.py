"""The gateway's alarms against a real Mosquitto, in process, on the fake RPi.GPIO board."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from gw_helpers import (
    DOOR,
    GW,
    LIGHT,
    GatewayFactory,
    board,
    is_online,
    result_for,
    topics,
    write_ds18b20,
)

from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe, Received
from factory_core.contract import AlarmState, CommandResult, decode
from gateway.config import ConfigError, parse_config

OVEN_ALARMS = {"hi": 25.0, "hihi": 40.0, "deadband": 1.0, "on_delay_s": 0.3}
DOOR_ALARM = {"state": True, "priority": "medium"}


def with_alarms(tmp_path: Path) -> dict[str, Any]:
    data = board(tmp_path)
    data["sensors"][0]["alarms"] = OVEN_ALARMS
    data["inputs"][0]["alarm"] = DOOR_ALARM
    return data


def alarm(probe: MqttProbe, source: str, condition: str, phase: str) -> AlarmState:
    topic = topics.alarm_state(GW, source, condition)  # type: ignore[arg-type]

    def match(m: Received) -> bool:
        return m.topic == topic and json.loads(m.payload)["state"] == phase

    state = decode(topics, topic, probe.wait_for(match, what=f"{topic} {phase}").payload).payload
    assert isinstance(state, AlarmState)
    return state


def back_topic(source: str, condition: str) -> str:
    return topics.alarm_state(GW, source, condition)  # type: ignore[arg-type]


def send(probe: MqttProbe, source: str, condition: str, **body: Any) -> CommandResult:
    body = {"id": f"a-{time.monotonic_ns()}", "by": "ann", "deadline": time.time() + 30, **body}
    probe.publish(topics.alarm_set(GW, source, condition), json.dumps(body).encode())  # type: ignore[arg-type]
    m = probe.wait_for(result_for(body["id"]), what=f"result of {body['id']}")
    result = decode(topics, m.topic, m.payload).payload
    assert isinstance(result, CommandResult)
    return result


def test_a_limit_crossed_raises_an_alarm_that_is_acknowledged_and_returns_to_normal(
    start_gateway: GatewayFactory, probe: MqttProbe, tmp_path: Path
) -> None:
    start_gateway(**{k: v for k, v in with_alarms(tmp_path).items() if k in ("sensors", "inputs")})
    probe.wait_for(is_online)
    normal = alarm(probe, "oven", "hi", "normal")  # every defined alarm is visible, retained
    assert (normal.priority, normal.limit, normal.active) == ("high", 25.0, False)
    write_ds18b20(tmp_path / "w1", 26_000)
    raised = alarm(probe, "oven", "hi", "unacked")
    assert raised.active and raised.value == 26.0 and raised.raised is not None
    assert "above 25" in (raised.message or "")
    result = send(probe, "oven", "hi", action="acknowledge")
    assert (result.ok, result.error) == (True, None)
    acked = alarm(probe, "oven", "hi", "acked")
    assert (acked.acked_by, acked.active) == ("ann", True)
    # Inside the deadband (25 - 1 < 24.5 <= 25) it stays; below it, it clears.
    probe.clear()
    write_ds18b20(tmp_path / "w1", 24_500)
    oven = topics.device_state(GW, "oven")
    probe.wait_for(lambda m: m.topic == oven and b"24.5" in m.payload, what="oven at 24.5")
    write_ds18b20(tmp_path / "w1", 23_000)
    back = alarm(probe, "oven", "hi", "normal")
    assert back.value == 23.0
    phases = [json.loads(m.payload)["state"] for m in probe.on_topic(back_topic("oven", "hi"))]
    assert phases == ["normal"]  # nothing while the value sat inside the deadband


def test_commands_follow_the_relay_rules_and_acknowledgement_survives_a_restart(
    start_gateway: GatewayFactory, probe: MqttProbe, tmp_path: Path, gpio: ModuleType
) -> None:
    overrides = {k: v for k, v in with_alarms(tmp_path).items() if k in ("sensors", "inputs")}
    gateway = start_gateway(**overrides)
    probe.wait_for(is_online)
    gpio.drive(DOOR, 0)  # active low: the door is open, its alarming state
    assert alarm(probe, "door", "state", "unacked").priority == "medium"
    unknown = send(probe, "door", "hi", action="acknowledge")
    assert (unknown.ok, unknown.error) == (False, "unknown_alarm")
    assert "'hi'" in (unknown.detail or "")
    expired = send(probe, "door", "state", action="acknowledge", deadline=time.time() - 60)
    assert expired.error == "expired"
    shelf = send(probe, "door", "state", action="shelve", until=time.time() + 60)
    assert shelf.error == "invalid" and "reason" in (shelf.detail or "")
    ack = send(probe, "door", "state", action="acknowledge", id="ack-1")
    assert ack.ok
    probe.clear()
    again = send(probe, "door", "state", action="acknowledge", id="ack-1")
    assert again.error == "duplicate"
    gateway.stop()
    probe.clear()
    start_gateway(**overrides)
    # After the restart the open door is still an alarm, still acknowledged by ann.
    state = alarm(probe, "door", "state", "acked")
    assert state.acked_by == "ann" and state.active


def test_a_shelved_alarm_returns_by_itself(
    start_gateway: GatewayFactory, probe: MqttProbe, tmp_path: Path, gpio: ModuleType
) -> None:
    overrides = {k: v for k, v in with_alarms(tmp_path).items() if k in ("sensors", "inputs")}
    start_gateway(**overrides)
    probe.wait_for(is_online)
    until = time.time() + 1.5
    result = send(probe, "door", "state", action="shelve", until=until, reason="door repair")
    assert result.ok
    topic = topics.alarm_state(GW, "door", "state")
    probe.wait_for(
        lambda m: m.topic == topic and json.loads(m.payload).get("shelve_reason") == "door repair",
        what="shelved",
    )
    probe.wait_for(
        lambda m: (
            m.topic == topic and "shelved_until" not in json.loads(m.payload) and m.at > until
        ),
        what="the shelf ended",
    )


def test_alarm_config_errors_are_reported_all_at_once(tmp_path: Path) -> None:
    data = board(tmp_path)
    data["sensors"][0]["alarms"] = {"lo": 30.0, "hi": 20.0, "deadband": -1}
    data["inputs"][0]["alarm"] = {"priority": "urgent"}
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    text = "\n".join(err.value.problems)
    assert "sensors[0].ds18b20.alarms.deadband" in text
    assert "inputs[0].alarm.state: Field required" in text
    assert "inputs[0].alarm.priority" in text and "'urgent'" in text
    data["sensors"][0]["alarms"] = {"lo": 30.0, "hi": 20.0, "hihi": 10.0}
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    text = "\n".join(err.value.problems)
    assert "lo (30.0) must be below hi (20.0), hi (20.0) must be below hihi (10.0)" in text
    assert "inputs[0].alarm.priority" in text


def test_a_relay_that_does_not_follow_raises_its_alarm_until_a_command_succeeds(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    start_gateway()
    probe.wait_for(is_online)
    assert alarm(probe, "light", "readback_mismatch", "normal").priority == "high"
    assert alarm(probe, "light", "command_failed", "normal").priority == "medium"
    gpio.stick(LIGHT, gpio.LOW)
    body = {"on": True, "id": "stuck-1", "by": "test", "deadline": time.time() + 30}
    probe.publish(topics.relay_set(GW, "light"), json.dumps(body).encode())
    raised = alarm(probe, "light", "readback_mismatch", "unacked")
    assert raised.message == "Light: did not follow its command"
    gpio.unstick(LIGHT)
    body = {"on": True, "id": "unstuck-1", "by": "test", "deadline": time.time() + 30}
    probe.publish(topics.relay_set(GW, "light"), json.dumps(body).encode())
    alarm(probe, "light", "readback_mismatch", "rtn_unacked")  # nobody acknowledged it yet


def test_a_lock_neither_clears_nor_raises_a_relay_alarm(
    start_gateway: GatewayFactory, probe: MqttProbe, gpio: ModuleType
) -> None:
    """A lock's answer comes on the relay's result topic, but no pin moved: only a command
    that switched the relay tells whether it follows."""
    start_gateway()
    probe.wait_for(is_online)
    alarm(probe, "light", "readback_mismatch", "normal")
    gpio.stick(LIGHT, gpio.LOW)
    body = {"on": True, "id": "stuck-2", "by": "test", "deadline": time.time() + 30}
    probe.publish(topics.relay_set(GW, "light"), json.dumps(body).encode())
    alarm(probe, "light", "readback_mismatch", "unacked")
    gpio.unstick(LIGHT)
    for locked, cid in ((True, "lock-2"), (False, "unlock-2")):
        body = {"lock": locked, "id": cid, "by": "ann", "role": "operator"}
        body |= {"deadline": time.time() + 30, **({"reason": "new bulb"} if locked else {})}
        probe.publish(topics.relay_lock(GW, "light"), json.dumps(body).encode())
        m = probe.wait_for(result_for(cid), what=f"result of {cid}")
        assert json.loads(m.payload)["ok"] is True
    body = {"on": True, "id": "unstuck-2", "by": "test", "deadline": time.time() + 30}
    probe.publish(topics.relay_set(GW, "light"), json.dumps(body).encode())
    alarm(probe, "light", "readback_mismatch", "rtn_unacked")
    phases = [
        ("alarm", json.loads(m.payload)["state"])
        if m.topic == back_topic("light", "readback_mismatch")
        else ("result", json.loads(m.payload)["id"])
        for m in list(probe.messages)
        if m.topic in (back_topic("light", "readback_mismatch"), topics.relay_result(GW, "light"))
    ]
    # Back to normal only after the switching command's result, not after the lock's.
    assert phases.index(("alarm", "rtn_unacked")) > phases.index(("result", "unstuck-2"))
    assert phases.index(("result", "unlock-2")) < phases.index(("result", "unstuck-2"))


def test_retained_alarms_no_longer_in_the_config_are_cleared_and_defined_ones_kept(
    start_gateway: GatewayFactory, probe: MqttProbe, broker: LocalBroker, tmp_path: Path
) -> None:
    """Left on the broker by an earlier run whose config had a lolo limit and a mixer."""
    earlier = AlarmState(
        priority="high", active=True, acked=False, state="unacked", since=1.0, raised=1.0, ts=1.0
    ).to_bytes()
    gone = [back_topic("oven", "lolo"), back_topic("mixer", "hi")]
    for topic in gone:
        probe.publish(topic, earlier, retain=True)
    start_gateway(**{k: v for k, v in with_alarms(tmp_path).items() if k in ("sensors", "inputs")})
    probe.wait_for(is_online)
    for topic in gone:
        probe.wait_for(lambda m, t=topic: m.topic == t and not m.payload, what=f"{topic} cleared")
    assert alarm(probe, "oven", "hi", "normal").priority == "high"  # its own stays
    assert [m for m in probe.on_topic(back_topic("oven", "hi")) if not m.payload] == []
    # Whoever subscribes now finds none of them: the marker, published after the SUBACK,
    # arrives after every retained message of the subscription.
    with MqttProbe(broker.url, [*gone, "test/marker"]) as fresh:
        fresh.publish("test/marker", b"x")
        fresh.wait_for(lambda m: m.topic == "test/marker", what="the marker")
        assert [m.topic for m in fresh.messages if m.topic in gone] == []
