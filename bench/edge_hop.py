"""Scenario ``edge_hop`` (issue 18): what the edge broker's hop adds to a reading's push.

One bridge service on the central broker, the same Socket.IO clients, in the same run: a
publisher acting as gateway ``bench`` on the edge broker (its readings cross Mosquitto's
bridge to the central one), then the same gateway published on the central broker itself
(by its admin login). Both brokers run the files ``factory-broker render`` wrote
(devtools/edge_topology.py).
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.lab import Lab
from bench.report import Row, ScenarioResult
from bench.stats import summarize, window
from devtools.edge_topology import WATCHER, EdgeTopology
from devtools.stack import http_json

# The gateway the receivers (bench/receivers.mjs) measure: behind the edge in the plant
# description, and published on the central broker directly for the comparison.
GATEWAY = "bench"
GRACE_S = 0.5  # lets the last push of a step arrive before the receivers stop


def edge_hop(
    workdir: Path,
    bridge_env: dict[str, str],
    clients: int,
    rate: float,
    duration: float,
    devices: int,
    clients_per_process: int,
) -> ScenarioResult:
    res = ScenarioResult("edge_hop")
    with EdgeTopology(workdir / "edge-hop", GATEWAY) as topology:
        central = topology.bridge_service(workdir / "edge-hop", bridge_env)
        paths = {
            "edge + central": Lab(workdir / "edge-hop" / "via-edge", topology.url_edge(GATEWAY), 1),
            "central only": Lab(workdir / "edge-hop" / "direct", topology.url_central(WATCHER), 1),
        }
        with central.process:
            central.process.wait_until(
                lambda: _answers(central.base_url, central.token), 30, "bridge up"
            )
            receivers = Lab(workdir / "edge-hop" / "clients", "", clients_per_process)
            receivers.token = central.token
            with receivers.sio_clients(central.base_url, clients) as group:
                sent = {}
                for label, lab in paths.items():
                    sent[label] = lab.publish(rate, duration, devices, gateway=GATEWAY)
                time.sleep(GRACE_S)
                results = group.finish()
    samples = [s for r in results for s in r["samples"]]
    p50: dict[str, float] = {}
    for label, pub in sent.items():
        summary = summarize(window(samples, pub["start"], pub["end"]), pub["rate"])
        p50[label] = summary.p50
        res.rows.append(
            Row(f"{clients} client(s), {pub['rate']:.0f}/s, {label}", summary, _note(label))
        )
    res.figures["edge_hop_extra_p50_ms"] = p50["edge + central"] - p50["central only"]
    p99 = {r.case.rsplit(", ", 1)[1]: r.summary.p99 for r in res.rows}
    res.figures["edge_hop_extra_p99_ms"] = p99["edge + central"] - p99["central only"]
    return res


def _note(label: str) -> str:
    if label == "edge + central":
        return "publisher -> edge Mosquitto -> bridge (MQTT 5, QoS 1) -> central -> bridge"
    return "publisher -> central Mosquitto -> bridge"


def _answers(base_url: str, token: str) -> bool:
    try:
        http_json(base_url + "/api/gateways", token=token)
    except OSError:
        return False
    return True
