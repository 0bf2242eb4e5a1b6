"""Store and forward in process, against a real Mosquitto: a broken buffer file costs the
backlog, never the gateway."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from gw_helpers import GW, GatewayFactory, is_online

from devtools.mqtt_probe import MqttProbe
from factory_core.contract import Topics


def test_a_buffer_file_that_is_not_a_database_is_named_and_the_gateway_runs_on(
    start_gateway: GatewayFactory,
    probe: MqttProbe,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    broken = state / f"{GW}-buffer.sqlite3"
    broken.write_bytes(b"not a database, " * 100)
    with caplog.at_level(logging.ERROR, "gateway.store_forward"):
        start_gateway()
        probe.wait_for(is_online, 10, "gateway online")
        probe.wait_for(lambda m: m.topic == Topics().device_state(GW, "oven"), 10, "live readings")
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(str(broken) in e and "store and forward off" in e for e in errors), errors
