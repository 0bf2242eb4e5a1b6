"""The gateway as a real process: last will on SIGKILL, clean shutdown on SIGTERM, systemd
notifications, the simulated demo board, and the Pi example on the fake RPi.GPIO."""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe, Received
from devtools.procs import ManagedProcess, python_module
from factory_core.contract import DeviceState, GatewayMeta, RelayState, Topics, decode

topics = Topics()
FAKES = Path(__file__).resolve().parents[1] / "fakes"
REPO = Path(__file__).resolve().parents[2]


def status_is(gw: str, text: str):  # type: ignore[no-untyped-def]
    return lambda m: m.topic == topics.status(gw) and m.text == text


def gateway_process(
    tmp_path: Path, broker: LocalBroker, *args: str, env: dict[str, str] | None = None
) -> ManagedProcess:
    return ManagedProcess(
        "gateway",
        python_module("gateway", *args),
        tmp_path / "gateway.log",
        env={
            "FACTORY_MQTT_URL": broker.url,
            "FACTORY_STATE_DIR": str(tmp_path / "state"),
            **(env or {}),
        },
        cwd=REPO,
    )


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(20)
    yield sock
    sock.close()


def test_killed_gateway_goes_offline_through_its_last_will(
    broker: LocalBroker, probe: MqttProbe, tmp_path: Path
) -> None:
    proc = gateway_process(tmp_path, broker, "--simulate").start()
    try:
        probe.wait_for(status_is("line1", "online"), timeout=30, what="online")
        probe.clear()
        proc.kill()
        probe.wait_for(status_is("line1", "offline"), timeout=30, what="last will")
    finally:
        proc.stop()
    with MqttProbe(broker.url, [topics.status("line1")]) as late:  # retained for newcomers
        assert late.wait_for(status_is("line1", "offline")).retain is True


def test_simulated_board_runs_and_stops_cleanly_on_sigterm(
    broker: LocalBroker, probe: MqttProbe, tmp_path: Path, notify_socket: socket.socket
) -> None:
    proc = gateway_process(
        tmp_path,
        broker,
        "--simulate",
        env={
            "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
            "WATCHDOG_USEC": "400000",
            "FACTORY_SYSTEM_INTERVAL_S": "0.5",
        },
    ).start()
    try:
        probe.wait_for(status_is("line1", "online"), timeout=30, what="online")
        meta = decode(
            topics,
            topics.meta("line1"),
            probe.wait_for(lambda m: m.topic == topics.meta("line1")).payload,
        ).payload
        assert isinstance(meta, GatewayMeta)
        assert {d.id for d in meta.devices} == {
            "temperature",
            "humidity",
            "vibration",
            "pressure",
            "machine_running",
        }
        # The simulated sensors drift: a second, different temperature arrives.
        temps: list[float] = []

        def new_temperature(m: Received) -> bool:
            if m.topic == topics.device_state("line1", "temperature"):
                state = decode(topics, m.topic, m.payload).payload
                assert isinstance(state, DeviceState)
                assert isinstance(state.value, float)
                if state.value not in temps:
                    temps.append(state.value)
            return len(temps) >= 2

        probe.wait_for(new_temperature, timeout=30, what="a drifting temperature")
        stats = json.loads(probe.wait_for(lambda m: m.topic == topics.system("line1")).payload)
        assert {"cpu", "memory", "disk", "load", "uptime", "ts"} <= set(stats)

        # Switch the conveyor on: machine_running (wired to it on the demo board) follows.
        probe.publish(
            topics.relay_set("line1", "relay_1"),
            json.dumps({"on": True, "id": "sim-1", "by": "test", "deadline": 4e9}),
        )
        probe.wait_for(
            lambda m: (
                m.topic == topics.device_state("line1", "machine_running")
                and json.loads(m.payload)["value"] is True
            ),
            what="machine running",
        )
        notes = b""
        while b"WATCHDOG=1" not in notes or b"READY=1" not in notes:
            notes += notify_socket.recv(4096) + b"\n"

        probe.clear()
        proc.signal(signal.SIGTERM)
        assert proc.stop(timeout=30) == 0
    finally:
        proc.stop()
    off = probe.wait_for(status_is("line1", "offline"), what="offline on SIGTERM")
    assert off.retain is False  # published live by the gateway, not a retained replay
    shutdown = [m for m in probe.messages if m.topic == topics.relay_state("line1", "relay_1")]
    state = decode(topics, shutdown[-1].topic, shutdown[-1].payload).payload
    assert isinstance(state, RelayState) and (state.on, state.reason) == (False, "shutdown")
    assert probe.messages.index(shutdown[-1]) < probe.messages.index(off)
    while b"STOPPING=1" not in notes:
        notes += notify_socket.recv(4096)
    assert "Traceback" not in proc.log()


def test_pi_example_runs_on_the_fake_rpi_gpio(
    broker: LocalBroker, probe: MqttProbe, tmp_path: Path
) -> None:
    proc = gateway_process(
        tmp_path,
        broker,
        "--config",
        str(REPO / "gateway" / "examples" / "pi.toml"),
        env={"PYTHONPATH": f"{FAKES}:{REPO}"},
    ).start()
    try:
        probe.wait_for(status_is("line2", "online"), timeout=30, what="pi board online")
        oil = probe.wait_for(
            lambda m: m.topic == topics.device_state("line2", "oil_temperature"),
            what="DS18B20 state",
        )
        state = decode(topics, oil.topic, oil.payload).payload
        # No 1-wire bus on this machine: the sensor is reported bad, not made up.
        assert isinstance(state, DeviceState) and (state.value, state.quality) == (None, "bad")
    finally:
        assert proc.stop(timeout=30) == 0
