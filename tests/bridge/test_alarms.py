"""Alarms end to end, with real processes: a gateway (its sensor a file, the hardware edge),
Mosquitto, two bridges, Socket.IO clients, HTTP and a plain MQTT subscriber."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bridge_helpers import LiveClient, RunningBridge

from bridge.contract import EVENT_LOG_EVENT
from devtools.local_broker import REPO, LocalBroker
from devtools.mqtt_probe import MqttProbe
from devtools.procs import ManagedProcess, python_module
from devtools.waits import wait_until
from factory_core.contract import AlarmState, Topics, decode

GW = "line9"
HI = f"{GW}/oven/hi"
OFFLINE = f"{GW}/gateway/offline"
topics = Topics()

CONFIG = """
gateway_id = "line9"
name = "Line 9"
system_interval_s = 0.5
clock_skew_s = 1.0

[hardware]
backend = "simulated"

[[relays]]
id = "fan"
name = "Fan"
pin = 5

[[sensors]]
type = "cpu_temp"
id = "oven"
name = "Oven"
interval_s = 0.2
thermal_zone = "{zone}"

[sensors.alarms]
hi = 25.0
deadband = 1.0
priorities = {{ hi = "high" }}
"""


class Oven:
    """The sensor's file (millidegrees, as /sys/class/thermal writes it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, celsius: float) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{int(celsius * 1000)}\n")
        os.replace(tmp, self.path)


@pytest.fixture
def oven(tmp_path: Path) -> Oven:
    sensor = Oven(tmp_path / "zone_temp")
    sensor.set(20.0)
    return sensor


# The same gateway after its oven's limit was taken out of the config.
WITHOUT_LIMIT = CONFIG[: CONFIG.index("[sensors.alarms]")]


@pytest.fixture
def start_gateway(
    broker: LocalBroker, tmp_path: Path, oven: Oven
) -> Iterator[Callable[..., ManagedProcess]]:
    config = tmp_path / "line9.toml"
    started: list[ManagedProcess] = []

    def start(text: str = CONFIG) -> ManagedProcess:
        config.write_text(text.format(zone=oven.path))
        proc = ManagedProcess(
            f"gateway{len(started)}",
            python_module("gateway", "--config", str(config)),
            tmp_path / f"gateway{len(started)}.log",
            env={"FACTORY_MQTT_URL": broker.url, "FACTORY_STATE_DIR": str(tmp_path / "gw")},
            cwd=REPO,
        ).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def alarm_is(client: LiveClient, key: str, **expected: Any) -> Callable[[], bool]:
    def check() -> bool:
        entry = client.item("alarms", key)
        return entry is not None and all(entry.get(k) == v for k, v in expected.items())

    return check


def follow_event_log(client: LiveClient) -> Callable[[], list[dict[str, Any]]]:
    """Record the client's ``event_log_update`` pushes; returns what they brought so far."""

    def on_update(data: dict[str, Any]) -> None:
        with client.cond:
            client.events.append((EVENT_LOG_EVENT, data))
            client.cond.notify_all()

    client.sio.on(EVENT_LOG_EVENT, on_update)
    return lambda: [e for d in client.received(EVENT_LOG_EVENT) for e in d["entries"]]


def retained_alarm(broker: LocalBroker, topic: str) -> AlarmState:
    """What a plant system that connects now reads: the retained alarm, without any bridge."""
    with MqttProbe(broker.url, [topic]) as fresh:
        message = fresh.wait_for(lambda m: m.topic == topic and m.retain, what=topic)
    state = decode(topics, topic, message.payload).payload
    assert isinstance(state, AlarmState)
    return state


def test_a_limit_crossed_is_seen_everywhere_acknowledged_once_audited_and_cleared(
    broker: LocalBroker,
    bridges: Callable[..., RunningBridge],
    clients: Callable[..., LiveClient],
    start_gateway: Callable[..., ManagedProcess],
    oven: Oven,
) -> None:
    first, second = bridges(), bridges()
    start_gateway()
    operator = clients(first)
    viewer = clients(first, role="viewer")
    other = clients(second)
    for client in (operator, viewer, other):
        client.wait(alarm_is(client, HI, state="normal", priority="high"), "the hi alarm exists")

    oven.set(26.5)
    for client in (operator, viewer, other):
        client.wait(alarm_is(client, HI, state="unacked", active=True), "the alarm is raised")
    raised = operator.item("alarms", HI)
    assert raised is not None and raised["value"] == 26.5 and raised["limit"] == 25.0
    assert raised["suppressed"] is False
    # It lives on the broker, retained: any plant system sees it with no bridge involved.
    assert retained_alarm(broker, topics.alarm_state(GW, "oven", "hi")).state == "unacked"

    command = {"gateway": GW, "source": "oven", "condition": "hi", "action": "acknowledge"}
    refused = viewer.call("alarm_command", command)
    assert (refused["ok"], refused["error"]) == (False, "forbidden")
    outcome = operator.call("alarm_command", command)
    assert outcome["ok"] is True and outcome["error"] is None, outcome
    other.wait(alarm_is(other, HI, state="acked"), "the second bridge shows it acknowledged")
    entry = other.item("alarms", HI)
    assert entry is not None and entry["acked_by"] == "token:test-operator"
    assert retained_alarm(broker, topics.alarm_state(GW, "oven", "hi")).acked_by == (
        "token:test-operator"
    )
    # A repeat is harmless: still acknowledged by the first.
    assert operator.call("alarm_command", command)["ok"] is True
    audit = first.get("/api/audit").json()["entries"]
    handled = [e for e in audit if e.get("alarm") == "oven/hi"]
    assert {(e["action"], e["outcome"], e["user"]) for e in handled} >= {
        ("acknowledge", "ok", "token:test-operator"),
        ("acknowledge", "forbidden", "token:test-viewer"),
    }

    oven.set(20.0)
    for client in (operator, viewer, other):
        client.wait(alarm_is(client, HI, state="normal", active=False), "back to normal")

    # The event log tells it, to a viewer too: raised, the command, acknowledged, normal.
    def alarm_actions() -> list[str]:
        answer = first.get("/api/event-log?kind=alarm&gateway=line9", role="viewer")
        assert answer.status_code == 200, answer.text
        return [e["action"] for e in reversed(answer.json()["entries"])]

    wait_until(lambda: alarm_actions() == ["raised", "acknowledged", "normal"], what="events")
    log = first.get("/api/event-log?kind=command", role="viewer").json()["entries"]
    texts = [e["text"] for e in log]
    assert "token:test-operator: acknowledge alarm oven/hi of line9: done" in texts
    assert any(t.startswith("token:test-viewer: acknowledge alarm oven/hi") for t in texts)
    acked = first.get("/api/event-log?kind=alarm", role="viewer").json()["entries"][1]
    assert acked["user"] == "token:test-operator" and "by token:test-operator" in acked["text"]
    csv_text = first.get("/api/event-log.csv?kind=alarm", role="viewer").text
    assert csv_text.splitlines()[0] == "time,ts,kind,gateway,subject,action,user,text"
    assert len(csv_text.splitlines()) == 4
    bad = first.get("/api/event-log?kind=weather", role="viewer")
    assert bad.status_code == 400 and "kind" in bad.json()["detail"]


def test_an_alarm_removed_from_the_config_is_cleared_on_the_broker_and_on_every_bridge(
    broker: LocalBroker,
    bridges: Callable[..., RunningBridge],
    clients: Callable[..., LiveClient],
    start_gateway: Callable[..., ManagedProcess],
    oven: Oven,
) -> None:
    bridge = bridges()
    gateway = start_gateway()
    client = clients(bridge)
    oven.set(30.0)
    client.wait(alarm_is(client, HI, state="unacked"), "hi raised")
    topic = topics.alarm_state(GW, "oven", "hi")
    assert retained_alarm(broker, topic).active
    gateway.stop()
    client.wait(alarm_is(client, OFFLINE, active=True), "the gateway offline")

    start_gateway(WITHOUT_LIMIT)  # the limit is gone; the oven still reads 30
    # The connected client (no bridge restart) drops it, and the banner counts with it.
    client.wait(lambda: client.item("alarms", HI) is None, "the hi alarm dropped", timeout=30)
    assert client.wait(alarm_is(client, OFFLINE, state="normal"), "online again")
    unacked = [k for k, a in (client.state or {})["alarms"].items() if a["state"] == "unacked"]
    assert unacked == []
    # A plant system connecting now reads no retained alarm there: the marker published after
    # the SUBACK arrives after every retained message of the subscription.
    marker = "test/marker"
    with MqttProbe(broker.url, [topic, marker]) as fresh:
        fresh.publish(marker, b"x")
        fresh.wait_for(lambda m: m.topic == marker, what="the marker")
        assert [m for m in fresh.on_topic(topic) if m.payload] == []
    # A bridge that starts now never lists it either.
    late = clients(bridges())
    late.wait(alarm_is(late, OFFLINE, state="normal"), "the late bridge sees the gateway")
    assert late.item("alarms", HI) is None


def test_the_event_log_is_pushed_live_to_the_clients_that_have_it_open_with_their_filters(
    bridges: Callable[..., RunningBridge],
    clients: Callable[..., LiveClient],
    start_gateway: Callable[..., ManagedProcess],
    oven: Oven,
) -> None:
    bridge = bridges()
    start_gateway()
    operator, viewer, closed = clients(bridge), clients(bridge, role="viewer"), clients(bridge)
    operator.wait(alarm_is(operator, HI, state="normal"), "the hi alarm exists")
    pushed, commands_pushed, closed_pushed = (
        follow_event_log(c) for c in (operator, viewer, closed)
    )
    first = operator.call("subscribe_event_log", {"gateway": GW})
    assert first["ok"] is True and first["page"]["entries"] == []  # nothing of line9 yet
    assert viewer.call("subscribe_event_log", {"kind": "command"})["ok"] is True  # viewers too
    closed.call("subscribe_event_log", {})
    assert closed.call("unsubscribe_event_log") == {"ok": True}

    oven.set(30.0)
    raised = operator.wait(
        lambda: [e for e in pushed() if (e["kind"], e["action"]) == ("alarm", "raised")],
        "the alarm pushed as an entry",
    )
    assert raised[0]["subject"] == "oven/hi" and raised[0]["gateway"] == GW
    assert operator.call("set_relay", {"gateway": GW, "relay": "fan", "on": True})["ok"] is True
    switched = operator.wait(
        lambda: [e for e in pushed() if e["action"] == "switch_on"], "the command pushed"
    )
    assert switched[0]["user"] == "token:test-operator" and switched[0]["text"].endswith("done")
    viewer.wait(lambda: any(e["action"] == "switch_on" for e in commands_pushed()), "to viewer")
    # Each client got only what its filters pass; the one that closed the page got nothing.
    assert {e["kind"] for e in commands_pushed()} == {"command"}
    assert {e["gateway"] for e in pushed()} == {GW}
    assert closed_pushed() == []
    # What was pushed is what the page says (same ids), and each entry came once.
    ids = [e["id"] for e in pushed()]
    assert len(ids) == len(set(ids))
    page = bridge.get(f"/api/event-log?gateway={GW}", role="viewer").json()["entries"]
    assert set(ids) <= {e["id"] for e in page}

    bad = operator.call("subscribe_event_log", {"kind": "weather", "limit": 0})
    assert bad["ok"] is False and bad["error"] == "invalid"
    assert "kind" in bad["detail"] and "limit" in bad["detail"]


def test_bad_alarm_commands_are_clear_errors(
    broker: LocalBroker,
    bridges: Callable[..., RunningBridge],
    clients: Callable[..., LiveClient],
    start_gateway: Callable[..., ManagedProcess],
) -> None:
    bridge = bridges()
    start_gateway()
    client = clients(bridge)
    client.wait(alarm_is(client, HI, state="normal"), "the hi alarm exists")
    unknown = bridge.post(
        "/api/alarms/command",
        role="operator",
        json={"gateway": GW, "source": "oven", "condition": "lolo", "action": "acknowledge"},
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "unknown_alarm" and "'lolo'" in unknown.json()["detail"]
    shelf = bridge.post(
        "/api/alarms/command",
        role="operator",
        json={"gateway": GW, "source": "oven", "condition": "hi", "action": "shelve"},
    )
    assert shelf.status_code == 400 and "reason" in shelf.json()["detail"]
    junk = client.call("alarm_command", {"gateway": GW, "condition": "warm"})
    assert (
        junk["error"] == "invalid" and "source" in junk["detail"] and "condition" in junk["detail"]
    )
    viewer = bridge.post("/api/alarms/command", role="viewer", json={})
    assert viewer.status_code == 403
    # A malformed alarm message is dropped and counted like any other, and changes nothing.
    garbage = topics.alarm_state(GW, "oven", "hihi")
    with MqttProbe(broker.url, [garbage]) as sender:
        sender.publish(garbage, b'{"priority": "urgent", "state": "panic"}')
    metric = 'factory_bridge_mqtt_dropped_total{reason="payload"}'
    wait_until(lambda: bridge.metric(metric) == 1, what="the malformed alarm counted")
    assert client.item("alarms", f"{GW}/oven/hihi") is None


def test_a_gateway_offline_is_one_alarm_every_bridge_agrees_on_and_suppresses_its_devices(
    bridges: Callable[..., RunningBridge],
    clients: Callable[..., LiveClient],
    start_gateway: Callable[..., ManagedProcess],
    oven: Oven,
) -> None:
    first, second = bridges(), bridges()
    gateway = start_gateway()
    a, b = clients(first), clients(second)
    oven.set(27.0)
    for client in (a, b):
        client.wait(alarm_is(client, HI, state="unacked"), "hi raised")
        client.wait(alarm_is(client, OFFLINE, state="normal"), "the offline alarm exists")

    gateway.signal(signal.SIGKILL)  # its last will says offline
    for client in (a, b):
        client.wait(alarm_is(client, OFFLINE, state="unacked", active=True), "offline raised")
        # Its devices' alarms are consequential: shown as suppressed, not raised anew.
        client.wait(alarm_is(client, HI, suppressed=True), "hi suppressed")

    answer = first.post(
        "/api/alarms/command",
        role="operator",
        json={"gateway": GW, "source": "gateway", "condition": "offline", "action": "acknowledge"},
    )
    assert answer.status_code == 200, answer.text
    for client in (a, b):
        client.wait(alarm_is(client, OFFLINE, state="acked"), "acknowledged on both bridges")
    repeat = second.post(
        "/api/alarms/command",
        role="admin",
        json={"gateway": GW, "source": "gateway", "condition": "offline", "action": "acknowledge"},
    )
    assert repeat.status_code == 200 and repeat.json()["detail"] == "already acknowledged"
    assert b.item("alarms", OFFLINE)["acked_by"] == "token:test-operator"  # type: ignore[index]
    # A bridge that starts now derives the same from the retained facts.
    late = clients(bridges())
    late.wait(alarm_is(late, OFFLINE, state="acked", acked_by="token:test-operator"), "late")
    # Handling a device alarm of an offline gateway is refused, not queued.
    refused = a.call(
        "alarm_command",
        {"gateway": GW, "source": "oven", "condition": "hi", "action": "acknowledge"},
    )
    assert refused["error"] == "gateway_offline"

    log = first.get(f"/api/event-log?gateway={GW}&kind=gateway", role="viewer").json()
    assert [e["action"] for e in log["entries"]][:1] == ["offline"]

    start_gateway()
    for client in (a, b, late):
        client.wait(alarm_is(client, OFFLINE, state="normal"), "online again")
        client.wait(alarm_is(client, HI, suppressed=False, state="unacked"), "hi shown again")
    wait_until(lambda: json.dumps(a.item("alarms", HI)) == json.dumps(b.item("alarms", HI)))


def test_the_event_log_survives_a_restart_of_the_bridge(
    bridges: Callable[..., RunningBridge],
    clients: Callable[..., LiveClient],
    start_gateway: Callable[..., ManagedProcess],
    oven: Oven,
) -> None:
    bridge = bridges()
    start_gateway()
    client = clients(bridge)
    oven.set(30.0)
    client.wait(alarm_is(client, HI, state="unacked"), "raised")
    wait_until(lambda: bridge.get("/api/event-log?kind=alarm").json()["total"] == 1, what="logged")
    client.close()
    bridge.proc.stop()
    again = bridges(state_dir=bridge.state_dir)
    wait_until(
        lambda: (
            [e["action"] for e in again.get("/api/event-log?kind=bridge").json()["entries"]]
            == ["started", "stopped", "started"]
        ),
        what="the bridge's restart in the log",
    )
    # The alarm re-read from the broker after the restart is the same transition: logged once.
    alarms = again.get("/api/event-log?kind=alarm").json()
    assert [e["action"] for e in alarms["entries"]] == ["raised"]


def test_a_device_out_of_service_has_its_alarms_suppressed_on_every_bridge_until_returned(
    bridges: Callable[..., RunningBridge],
    clients: Callable[..., LiveClient],
    start_gateway: Callable[..., ManagedProcess],
    oven: Oven,
) -> None:
    first, second = bridges(), bridges()
    start_gateway()
    operator, other = clients(first), clients(second)
    oven.set(30.0)
    other.wait(alarm_is(other, HI, state="unacked", suppressed=False), "raised")
    viewer = clients(first, role="viewer")
    take_out = {"gateway": GW, "device": "oven", "in_service": False, "reason": "recalibration"}
    assert viewer.call("set_service", take_out)["error"] == "forbidden"
    no_reason = operator.call("set_service", {**take_out, "reason": " "})
    assert no_reason["error"] == "invalid" and "reason" in no_reason["detail"]
    assert operator.call("set_service", {**take_out, "device": "nope"})["error"] == (
        "unknown_device"
    )
    assert operator.call("set_service", take_out)["ok"] is True
    for client in (operator, other):
        client.wait(alarm_is(client, HI, suppressed=True), "suppressed on both bridges")
        client.wait(
            lambda c=client: (c.item("devices", f"{GW}/oven") or {}).get("out_of_service"),
            "the value marked",
        )
    marked = other.item("devices", f"{GW}/oven")
    assert marked is not None
    assert marked["out_of_service"]["by"] == "token:test-operator"
    assert marked["out_of_service"]["reason"] == "recalibration"
    back = first.post(f"/api/devices/{GW}/oven/service", role="operator", json={"in_service": True})
    assert back.status_code == 200, back.text
    other.wait(alarm_is(other, HI, suppressed=False, state="unacked"), "shown again")
    audit = first.get("/api/audit").json()["entries"]
    actions = {(e["action"], e["outcome"]) for e in audit if e.get("alarm") == "oven/service"}
    assert {("out_of_service", "ok"), ("return_to_service", "ok")} <= actions
    log = first.get("/api/event-log?kind=command", role="viewer").json()["entries"]
    said = "token:test-operator: out of service: line9/oven (recalibration): done"
    assert any(e["text"] == said for e in log)
