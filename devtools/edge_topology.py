"""An edge and a central Mosquitto, bridged by Mosquitto itself (tests, bench).

Both brokers run the project's mosquitto.conf with the files ``factory-broker render`` wrote
(run as a real process): the central one with ``OUT/passwd`` and ``OUT/acl``, the edge one
with ``OUT/edges/<edge>/`` and its ``conf.d/bridge.conf`` included. The edge reaches the
central broker through a TcpProxy, so that a test can cut the link.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final
from urllib.parse import quote

from bridge.security.accounts import Accounts
from devtools.local_broker import (
    BrokerError,
    TlsFiles,
    free_port,
    make_test_certificates,
    mosquitto_binary,
    render_config,
    tls_listener_config,
    wait_for_port,
)
from devtools.procs import ManagedProcess, python_module
from devtools.tcp_proxy import TcpProxy
from factory_broker.provision import BRIDGE_CONF_DIR, edge_dir, read_secrets
from factory_core.broker_admin import password_env_var

EDGE: Final = "hall"
EDGE_LOGIN: Final = "edge-hall"
BRIDGE_LOGIN: Final = "bridge"
WATCHER: Final = "watcher"  # an admin on the central broker: tests watch and command with it


def plant_toml(
    gateway: str, central_address: str, keepalive_s: int, tls_ca: Path | None = None
) -> str:
    """A plant with one gateway behind edge ``hall``, a bridge and a watcher."""
    tls = f'tls_ca = "{tls_ca}"\n' if tls_ca is not None else ""
    return f"""
prefix = "factory"
gateways = ["{gateway}"]

[users.{BRIDGE_LOGIN}]
role = "bridge"

[users.{WATCHER}]
role = "admin"

[edges.{EDGE}]
address = "{central_address}"
username = "{EDGE_LOGIN}"
gateways = ["{gateway}"]
keepalive_s = {keepalive_s}
{tls}"""


def _mosquitto(name: str, workdir: Path, port: int, auth_dir: Path, extra: str) -> ManagedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # Started as root, Mosquitto drops to user `mosquitto`, which cannot read our files.
        extra = "user root\n" + extra
    conf = workdir / "mosquitto.conf"
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    conf.write_text(render_config(port, data, auth_dir=auth_dir, extra=extra))
    return ManagedProcess(name, [mosquitto_binary(), "-c", str(conf)], workdir / "mosquitto.log")


@dataclass(frozen=True)
class CentralBridge:
    process: ManagedProcess
    base_url: str
    token: str


class EdgeTopology:
    """Central broker, proxy, edge broker; ``url_central(user)`` / ``url_edge(user)``.

    With ``tls`` the central broker also listens on TLS (a throw-away CA) and the edge's
    bridge reaches it there, through the proxy; the tests' own clients use the plain port."""

    def __init__(
        self,
        workdir: Path,
        gateway: str,
        keepalive_s: int = 5,
        tls: bool = False,
        edge_trusts: Path | None = None,
    ) -> None:
        self.workdir = workdir
        self.gateway = gateway
        self.central_port = free_port()
        self.edge_port = free_port()
        self.tls: TlsFiles | None = make_test_certificates(workdir / "tls") if tls else None
        self.central_tls_port = free_port() if tls else None
        # The CA the edge is told to trust (default: the one that signed the central's).
        self.edge_trusts = edge_trusts or (self.tls.ca if self.tls is not None else None)
        self.link = TcpProxy(self.central_tls_port or self.central_port)
        self.keepalive_s = keepalive_s
        self.out = workdir / "broker-files"
        self.plant_file = workdir / "plant.toml"
        self.edge_log = workdir / "edge" / "broker.log"
        self.passwords: dict[str, str] = {}
        self.central: ManagedProcess | None = None
        self.edge: ManagedProcess | None = None

    def render(self) -> None:
        """``factory-broker render`` as an operator runs it."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.plant_file.write_text(
            plant_toml(
                self.gateway,
                f"127.0.0.1:{self.link.port}",
                self.keepalive_s,
                self.edge_trusts,
            )
        )
        secrets = self.workdir / "secrets.env"
        answer = subprocess.run(
            [sys.executable, "-m", "factory_broker", "render", "--plant", str(self.plant_file),
             "--out", str(self.out), "--secrets", str(secrets)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if answer.returncode != 0:
            raise BrokerError(f"factory-broker render failed: {answer.stderr}")
        known = read_secrets(secrets)
        for user in (self.gateway, BRIDGE_LOGIN, WATCHER, EDGE_LOGIN):
            self.passwords[user] = known[password_env_var(user)]

    def start(self) -> EdgeTopology:
        self.render()
        self.link.start()
        tls_listener = ""
        if self.tls is not None and self.central_tls_port is not None:
            tls_listener = tls_listener_config(self.central_tls_port, self.tls)
        self.central = _mosquitto(
            "central", self.workdir / "central", self.central_port, self.out, tls_listener
        ).start()
        wait_for_port(self.central_port)
        edge_files = edge_dir(self.out, EDGE)
        # Last in mosquitto.conf: every line after a `connection` belongs to that bridge.
        # Its stdout log is block-buffered (a file, not a terminal); this one is flushed per
        # line, so a test can wait on what the bridge logs (``edge_log``).
        log_file = f"log_dest file {self.edge_log}\n"
        include = log_file + f"include_dir {edge_files / BRIDGE_CONF_DIR}\n"
        self.edge = _mosquitto(
            "edge", self.workdir / "edge", self.edge_port, edge_files, include
        ).start()
        wait_for_port(self.edge_port)
        return self

    def _url(self, user: str, port: int) -> str:
        return (
            f"mqtt://{quote(user, safe='')}:{quote(self.passwords[user], safe='')}@127.0.0.1:{port}"
        )

    def url_central(self, user: str) -> str:
        return self._url(user, self.central_port)

    def url_edge(self, user: str) -> str:
        return self._url(user, self.edge_port)

    def bridge_service(self, workdir: Path, env: dict[str, str]) -> CentralBridge:
        """The bridge service on the central broker, knowing the plant's edges; not started.
        Its API token (an operator's) is made afresh in its state dir."""
        state = workdir / "bridge-state"
        token = Accounts(state).add_token(f"edge-{os.getpid()}-{free_port()}", "operator")
        port = free_port()
        process = ManagedProcess(
            "bridge",
            python_module("bridge"),
            workdir / "bridge.log",
            {
                "FACTORY_MQTT_URL": self.url_central(BRIDGE_LOGIN),
                "FACTORY_PLANT_FILE": str(self.plant_file),
                "FACTORY_HTTP_HOST": "127.0.0.1",
                "FACTORY_HTTP_PORT": str(port),
                "FACTORY_STATE_DIR": str(state),
                **env,
            },
        )
        return CentralBridge(process, f"http://127.0.0.1:{port}", token)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.log()[-3000:]}" for p in (self.central, self.edge) if p is not None
        )

    def stop(self) -> None:
        for proc in (self.edge, self.central):
            if proc is not None:
                proc.stop()
        self.link.stop()

    def __enter__(self) -> EdgeTopology:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()
