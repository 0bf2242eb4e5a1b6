"""Edge + central brokers as factory-broker renders them, a gateway process (fake GPIO
board) on the edge, the bridge service on the central broker, dashboard-like clients.

The edge's bridge reaches the central broker through a TcpProxy (``rig.topology.link``)
that a test may stall: a cable that went quiet, noticed only by the keepalive.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.dashboard_mirror import DashboardMirror
from devtools.edge_topology import EdgeTopology
from devtools.procs import ManagedProcess, python_module
from devtools.stack import http_json
from tests.faults.faults_helpers import CELL_TOML, FAKES, GW, REPO, FakeBoard

# The edge bridge's keepalive: the central broker declares the link down after 1.5 times it.
EDGE_KEEPALIVE_S = 5
# What a busy 2-core box may add to a step that takes milliseconds on an idle one.
SLOW_BOX_S = 15.0


@dataclass
class EdgeRig:
    workdir: Path
    topology: EdgeTopology
    board: FakeBoard
    gateway: ManagedProcess
    bridge: ManagedProcess
    base_url: str
    token: str
    mirrors: list[DashboardMirror] = field(default_factory=list)

    def api(self, path: str) -> Any:
        return http_json(self.base_url + path, token=self.token)

    def mirror(self) -> DashboardMirror:
        m = DashboardMirror(self.base_url, name=f"client{len(self.mirrors)}", token=self.token)
        self.mirrors.append(m.start())
        return m

    def gateway_audit(self) -> list[str]:
        """The gateway's audit log lines (relay actions and refusals)."""
        lines = []
        for line in self.gateway.log().splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and entry.get("logger") == "gateway.audit":
                    lines.append(str(entry["message"]))
        return lines

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            relays = self.api("/api/relays")["relays"]
            gws = self.api("/api/gateways")["gateways"]
            return bool(
                gws.get(GW, {}).get("online")
                and all(relays.get(k, {}).get("quality") == "good" for k in self.board.relays_on())
            )

        self.bridge.wait_until(ready, timeout=timeout, what="gateway on the edge ready")

    def stop(self) -> None:
        for m in self.mirrors:
            with contextlib.suppress(Exception):
                m.stop()
        self.bridge.stop()
        self.gateway.stop()
        self.topology.stop()


def start_edge_rig(workdir: Path) -> EdgeRig:
    topology = EdgeTopology(workdir, GW, keepalive_s=EDGE_KEEPALIVE_S).start()
    board = FakeBoard(workdir / "board")
    config = workdir / "cell1.toml"
    config.write_text(CELL_TOML)
    gateway = ManagedProcess(
        "gateway",
        python_module("gateway", "--config", str(config)),
        workdir / "gateway.log",
        {
            "FACTORY_MQTT_URL": topology.url_edge(GW),
            "FACTORY_MQTT_KEEPALIVE": "4",
            "FACTORY_LOG_FORMAT": "json",
            "FACTORY_STATE_DIR": str(workdir / "gateway-state"),
            "FAKE_GPIO_DIR": str(board.dir),
            "PYTHONPATH": os.pathsep.join([str(FAKES), str(REPO)]),
        },
    )
    central = topology.bridge_service(
        workdir,
        {
            "FACTORY_MQTT_KEEPALIVE": "4",
            "FACTORY_COMMAND_TTL": "2",
            "FACTORY_COMMAND_GRACE": "0.7",  # the gateway's clock_skew_s (0.5) and a margin
            "FACTORY_HTTP_RATE_LIMIT": "100000/minute",
            "FACTORY_COMMAND_BURST": "1000",
            "FACTORY_COMMAND_RATE": "100000",
        },
    )
    bridge = central.process
    rig = EdgeRig(workdir, topology, board, gateway, bridge, central.base_url, central.token)
    try:
        gateway.start()
        bridge.start()
        rig.wait_ready()
    except BaseException:
        print(topology.logs())
        rig.stop()
        raise
    return rig
