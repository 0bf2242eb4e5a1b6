"""Issue 18 item 2: a gateway cut off from its broker keeps its samples and forwards them late.

Real processes: Mosquitto, the gateway on the fake GPIO board (its simulated temperature
sensor changes every 0.5 s), the bridge, the TCP proxy between gateway and broker.
"""

from __future__ import annotations

import itertools
import json
import math
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.request import urlopen

import socketio
from faults_helpers import GW, SLOW_BOX_S, Rig, figure, topics

from devtools.mqtt_probe import MqttProbe
from devtools.waits import wait_for

DEVICE = "temperature"
KEY = f"{GW}/{DEVICE}"
SAMPLE_S = 0.5  # the cell's sensor interval
# Relays are not what these tests are about: no link-loss move during the cuts.
NO_LINK_LOSS = {"FACTORY_LINK_LOSS_TIMEOUT_S": "600"}


class LiveView:
    """A dashboard client, written the way the seed client is: the full ``state`` on connect,
    then ``devices_update`` deltas. Keeps every timestamp it showed for one device."""

    def __init__(self, rig: Rig) -> None:
        self.shown: list[float] = []
        self._lock = threading.Lock()
        self.client = socketio.Client(reconnection=True)
        self.client.on("state", lambda data: self._show(data["devices"]))
        self.client.on("devices_update", lambda data: self._show(data["devices"]))
        self.client.connect(
            rig.stack.base_url, transports=["websocket"], auth={"token": rig.stack.api_token}
        )

    def _show(self, devices: dict[str, Any]) -> None:
        entry = devices.get(KEY)
        if entry and entry.get("ts") is not None:
            with self._lock:
                self.shown.append(entry["ts"])

    def timestamps(self) -> list[float]:
        with self._lock:
            return list(self.shown)


def history(rig: Rig, start: int, end: int) -> list[float]:
    """The per-second points the history API serves for the device over the range (whole
    seconds: the stored per-second buckets are, and a range starting elsewhere is served in
    buckets of its own origin, each labelled up to a second before its readings)."""
    answer = rig.stack.api(f"/api/devices/{GW}/{DEVICE}/history?from={start}&to={end}&step=1")
    return [point[0] for point in answer["points"]]


def history_before_cut(rig: Rig, seconds: float) -> None:
    """Wait until the history holds the last ``seconds`` of live readings."""
    wait_for(
        lambda: (
            len(history(rig, math.floor(time.time() - seconds), math.floor(time.time())))
            >= seconds - 1
        ),
        seconds + SLOW_BOX_S,
        "live readings in the history before the cut",
    )


def largest_gap(points: list[float], start: int, end: int) -> float:
    edges = [start, *points, end]
    return max(b - a for a, b in itertools.pairwise(edges))


def late_batches(probe: MqttProbe) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in probe.on_topic(topics.late_samples(GW))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def metric(port: int, name: str) -> float:
    with urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not among the gateway's metrics")


def test_a_30_s_cut_leaves_no_gap_in_history_and_the_live_view_never_goes_back(
    rig_factory: Callable[..., Rig],
) -> None:
    """Pass: after a 30 s cut of the gateway's link, the history API has a reading in every
    two seconds across the cut (the sensor changes every 0.5 s), and a live client never
    showed a value older than one it had shown (the late ones went to history only)."""
    rig = rig_factory(gateway_env=NO_LINK_LOSS)
    view = LiveView(rig)
    history_before_cut(rig, 5)
    with rig.probe([topics.late_samples(GW)]) as probe:
        cut = time.time()
        rig.gw_link.drop()
        time.sleep(30)  # the outage itself (the 30 s), not a wait for an event
        rig.gw_link.pass_()
        back = time.time()
        wait_for(lambda: late_batches(probe), 15 + SLOW_BOX_S, "late samples forwarded")
        start, end = math.floor(cut) - 5, math.floor(back)
        covered = wait_for(
            lambda: largest_gap(history(rig, start, end), start, end) <= 2.0,
            15 + SLOW_BOX_S,
            "the history filled across the cut",
        )
        figure("30 s cut: history whole after reconnect, s", covered - back)
        forwarded = sum(len(b["samples"]) for b in late_batches(probe))
        figure("30 s cut: samples forwarded late", forwarded)
    wait_for(lambda: view.timestamps()[-1] > back, SLOW_BOX_S, "live values after the cut")
    shown = view.timestamps()
    went_back = [(a, b) for a, b in itertools.pairwise(shown) if b < a]
    assert not went_back, f"the live view went back in time: {went_back[:3]}"
    # None of the late samples reached the live view: it jumped the cut (at most the current
    # state at reconnect, taken just before, is from inside it).
    during = [ts for ts in shown if cut + 1 < ts < back - 1]
    assert len(during) <= 1, f"the live view showed readings from the outage: {during[:3]}"
    view.client.disconnect()


def test_a_full_buffer_drops_the_oldest_samples_and_counts_them(
    rig_factory: Callable[..., Rig],
) -> None:
    """Pass: with room for 10 samples, a cut of several seconds drops the oldest; the count is
    in the gateway's metrics, its log and the late batch; the newest 10 are forwarded."""
    port = free_port()
    rig = rig_factory(
        gateway_env={**NO_LINK_LOSS, "FACTORY_METRICS_PORT": str(port)},
        gateway_toml="\n[store_forward]\nmax_samples = 10\n",
    )
    dropped = "factory_gateway_buffer_dropped_samples_total"
    with rig.probe([topics.late_samples(GW)]) as probe:
        rig.gw_link.drop()
        wait_for(lambda: metric(port, dropped) >= 4, 10 * SAMPLE_S + SLOW_BOX_S, "drops counted")
        rig.gw_link.pass_()
        back = time.time()
        wait_for(lambda: late_batches(probe), 15 + SLOW_BOX_S, "late samples forwarded")
    [batch] = late_batches(probe)
    assert batch["dropped"] == metric(port, dropped) >= 4
    # The rebirth may have sent the newest one live: then it is not forwarded too.
    stamps = [s["ts"] for s in batch["samples"]]
    assert len(stamps) in (9, 10), stamps
    assert stamps == sorted(stamps)
    assert stamps[-1] > back - 10 * SAMPLE_S - SLOW_BOX_S, "not the newest kept"
    log = [e["message"] for e in rig.gateway_log()]
    assert any("dropped the" in m and "oldest samples" in m for m in log), log[-5:]


def test_a_gateway_restarted_during_the_outage_forwards_what_it_kept(
    rig_factory: Callable[..., Rig],
) -> None:
    """Pass: samples kept before a restart (the gateway stopped and started while cut off)
    are forwarded once the link is back, and the history has them."""
    rig = rig_factory(gateway_env=NO_LINK_LOSS)
    history_before_cut(rig, 3)
    with rig.probe([topics.late_samples(GW)]) as probe:
        cut = time.time()
        rig.gw_link.drop()
        buffer = rig.workdir / "gateway-state" / f"{GW}-buffer.sqlite3"
        wait_for(buffer.exists, SLOW_BOX_S, "the buffer on disk")
        time.sleep(3)  # part of the outage before the restart
        stopping = time.time()
        rig.gateway.stop()
        restarted = time.time()
        rig.gateway.start()
        rig.gw_link.pass_()
        wait_for(
            lambda: any(s["ts"] < restarted for b in late_batches(probe) for s in b["samples"]),
            30 + SLOW_BOX_S,
            "samples from before the restart forwarded",
        )
    kept = [s["ts"] for b in late_batches(probe) for s in b["samples"] if s["ts"] < restarted]
    assert min(kept) < cut + 2, f"the first samples of the outage are missing: {kept[:3]}"
    start, end = math.floor(cut) - 3, math.floor(stopping)
    wait_for(
        lambda: largest_gap(history(rig, start, end), start, end) <= 2.0,
        15 + SLOW_BOX_S,
        "the history has the outage before the restart",
    )
