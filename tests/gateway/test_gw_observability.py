"""What an operator watches: Prometheus metrics over HTTP and JSON log lines."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
import requests
from gw_helpers import GW, GatewayFactory, command, is_online, result_for, topics
from prometheus_client.parser import text_string_to_metric_families

from devtools.local_broker import LocalBroker, free_port
from devtools.mqtt_probe import MqttProbe
from devtools.procs import ManagedProcess, python_module
from factory_core.logs import log_format_from_env, setup_logging
from gateway.sdnotify import Notifier

REPO = Path(__file__).resolve().parents[2]


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    """Every sample on /metrics, by name and labels."""
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    response.raise_for_status()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def scrape_until(port: int, ready: Callable[[Samples], bool], timeout: float = 20) -> Samples:
    """Scrape until ``ready`` (a published message is counted just after it leaves)."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(port)
        if ready(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


def test_metrics_count_publishes_and_commands(
    start_gateway: GatewayFactory, probe: MqttProbe
) -> None:
    port = free_port()
    start_gateway(metrics_port=port, metrics_host="127.0.0.1")
    probe.wait_for(is_online)
    probe.wait_for(lambda m: m.topic == topics.meta(GW), what="meta")
    meta = ("factory_gateway_messages_published_total", (("kind", "meta"),))
    before = scrape_until(port, lambda s: meta in s)
    assert before[("factory_gateway_mqtt_connected", ())] == 1
    assert before[("factory_gateway_info", (("gateway", GW),))] == 1
    assert before[meta] >= 1
    assert ("factory_gateway_commands_total", (("outcome", "ok"),)) not in before

    probe.publish(topics.relay_set(GW, "motor"), command("motor", True, "m-1"))
    probe.wait_for(result_for("m-1"), what="result")
    probe.publish(topics.relay_set(GW, "motor"), command("motor", True, "m-1"))
    probe.wait_for(lambda m: len([x for x in probe.messages if result_for("m-1")(x)]) == 2)

    results = ("factory_gateway_messages_published_total", (("kind", "result"),))
    relay_states = ("factory_gateway_messages_published_total", (("kind", "relay_state"),))
    after = scrape_until(
        port, lambda s: s.get(results) == 2 and s[relay_states] > before[relay_states]
    )
    assert after[("factory_gateway_commands_total", (("outcome", "ok"),))] == 1
    assert after[("factory_gateway_commands_total", (("outcome", "duplicate"),))] == 1
    assert after[("factory_gateway_command_latency_seconds_count", ())] == 2
    assert after[results] == 2
    assert after[relay_states] > before[relay_states]


def test_metrics_are_off_unless_a_port_is_set(
    start_gateway: GatewayFactory, probe: MqttProbe
) -> None:
    gateway = start_gateway()
    probe.wait_for(is_online)
    assert gateway.metrics.port == 0


def test_setup_logging_json_lines_carry_the_exception() -> None:
    out = StringIO()
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    setup_logging("DEBUG", "json", stream=out)
    try:
        try:
            raise RuntimeError("pin 5 stuck")
        except RuntimeError:
            logging.getLogger("gateway.test").exception("relay %s failed", "motor")
        logging.getLogger("gateway.test").debug("plain")
    finally:
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["level"] == "ERROR"
    assert first["logger"] == "gateway.test"
    assert first["message"] == "relay motor failed"
    assert "RuntimeError: pin 5 stuck" in first["exception"]
    assert first["ts"].endswith("+00:00")
    assert second["message"] == "plain" and "exception" not in second
    with pytest.raises(ValueError, match="FACTORY_LOG_FORMAT='xml'"):
        log_format_from_env({"FACTORY_LOG_FORMAT": "xml"})


def test_the_gateway_process_logs_json_lines_when_asked(
    broker: LocalBroker, probe: MqttProbe, tmp_path: Path
) -> None:
    proc = ManagedProcess(
        "gateway",
        python_module("gateway", "--simulate"),
        tmp_path / "gateway.log",
        env={
            "FACTORY_MQTT_URL": broker.url,
            "FACTORY_STATE_DIR": str(tmp_path / "state"),
            "FACTORY_LOG_FORMAT": "json",
        },
        cwd=REPO,
    ).start()
    try:
        probe.wait_for(lambda m: m.topic == topics.status("line1") and m.text == "online")
    finally:
        assert proc.stop() == 0
    lines = [json.loads(line) for line in proc.log().splitlines() if line.strip()]
    assert {"ts", "level", "logger", "message"} <= set(lines[0])
    messages = [entry["message"] for entry in lines]
    assert any(m.startswith("gateway line1 started") for m in messages)
    assert any(m.startswith("gateway line1 stopped") for m in messages)


def test_sd_notify_never_blocks_when_the_manager_stops_reading(tmp_path: Path) -> None:
    """The watchdog ping runs on the relay thread: a full notify socket must not stall it."""
    manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    manager.bind(str(tmp_path / "notify.sock"))  # bound, never read: the queue fills up
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    answers: list[bool] = []
    sender = threading.Thread(
        target=lambda: answers.extend(notifier.notify("WATCHDOG=1") for _ in range(100)),
        daemon=True,
    )
    sender.start()
    sender.join(timeout=10)
    try:
        assert not sender.is_alive(), "notify blocked on a socket nobody reads"
        assert answers[0] is True and answers[-1] is False
        assert manager.recv(64) == b"WATCHDOG=1"
    finally:
        manager.close()
