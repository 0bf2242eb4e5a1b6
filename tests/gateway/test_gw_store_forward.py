"""Store and forward in process, against a real Mosquitto: a broken buffer file costs the
backlog, never the gateway."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from gw_helpers import GW, GatewayFactory, is_online

from devtools.mqtt_probe import MqttProbe
from devtools.waits import wait_until
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


EDGE = "hall"
CHANGING = {"type": "simulated", "id": "oven", "name": "Oven", "kind": "temperature",
            "setpoint": 20.0, "step": 0.5, "interval_s": 0.1, "seed": 3}  # fmt: skip


def late_ts(probe: MqttProbe) -> set[float]:
    return {
        s["ts"]
        for m in probe.on_topic(Topics().late_samples(GW))
        for s in json.loads(m.payload)["samples"]
    }


def live_ts(probe: MqttProbe, since: float, until: float) -> list[float]:
    """Readings that reached the broker live (the edge broker, here) between two instants."""
    return [
        ts
        for m in probe.on_topic(Topics().device_state(GW, "oven"))
        if since <= (ts := json.loads(m.payload)["ts"]) <= until
    ]


def test_behind_an_edge_whose_link_is_down_samples_go_live_and_are_kept_for_later(
    start_gateway: GatewayFactory, probe: MqttProbe
) -> None:
    """The edge's bridge says 0 (retained, as before it first connects): the readings still
    reach the edge broker live, and once it says 1 and the rebirth comes, every one of them
    is forwarded late too. Then a cut the edge did not announce (a live 1 while it was up,
    as Mosquitto 2 does): what went out in the look-back is forwarded again."""
    t = Topics()
    link = t.edge_link(EDGE)
    try:
        probe.publish(link, "0", retain=True)
        start_gateway(store_forward={"edge": EDGE, "batch_interval_s": 0.05}, sensors=[CHANGING])
        probe.wait_for(is_online, 10, "gateway online")
        start = time.time()
        wait_until(lambda: len(live_ts(probe, start, time.time())) >= 5, 10, "live readings")
        assert not late_ts(probe), "nothing forwarded while the edge's link is down"
        probe.publish(link, "1", retain=True)  # the edge's bridge connected
        up = time.time()
        probe.publish(t.rebirth(), "")
        kept = live_ts(probe, start, up - 0.5)
        wait_until(lambda: set(kept) <= late_ts(probe), 10, "the readings of the cut forwarded")

        before = time.time()
        wait_until(lambda: len(live_ts(probe, before, time.time())) >= 5, 10, "live again")
        handed = live_ts(probe, before, time.time())
        probe.publish(link, "1")  # live, not retained: the bridge has just reconnected
        wait_until(lambda: set(handed) <= late_ts(probe), 10, "the look-back forwarded")
    finally:
        probe.publish(link, "", retain=True)


def test_an_edge_whose_link_is_never_heard_is_named_in_an_error(
    start_gateway: GatewayFactory, probe: MqttProbe, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong edge name (or broker, or ACL) hears nothing on the link topic: the gateway says
    so, naming the topic, and runs on."""
    with caplog.at_level(logging.ERROR, "gateway.store_forward"):
        start_gateway(store_forward={"edge": "no-such-edge"})
        probe.wait_for(is_online, 10, "gateway online")

        def named() -> list[str]:
            return [
                r.getMessage()
                for r in caplog.records
                if "factory/$edges/no-such-edge/link" in r.getMessage()
            ]

        errors = wait_until(named, 10 + 15, "the error naming the edge's link topic", poll=0.2)
    assert "[store_forward] edge" in errors[0], errors
    probe.wait_for(lambda m: m.topic == Topics().device_state(GW, "oven"), 10, "live readings")
