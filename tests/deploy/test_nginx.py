"""deploy/nginx/factory-iot.conf, run by Debian's nginx: it loads, and in front of two real
bridges a browser-like client logs in and holds a Socket.IO connection through it over TLS.

The shipped file is an ``http {}`` include; a harness config gives nginx a private prefix, pid,
logs and temp paths. Only the addresses it names are rendered: the TLS files (throwaway certs),
and for the live test the listen ports and the bridges' ports (free loopback ports).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import socketio

from bridge.security.accounts import Accounts
from devtools.local_broker import REPO, LocalBroker, free_port, wait_for_port
from devtools.procs import ManagedProcess, python_module

SHIPPED = REPO / "deploy" / "nginx" / "factory-iot.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PASSWORD = "correct horse battery staple"


def _render(text: str, replacements: dict[str, str]) -> str:
    """``text`` with each address replaced; each must occur in the shipped file exactly once."""
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{SHIPPED.name} should name {old!r} exactly once"
        text = text.replace(old, new)
    return text


@dataclass
class Nginx:
    prefix: Path
    certs: Path

    def configure(self, replacements: dict[str, str]) -> Path:
        """The harness config including the shipped file, rendered with ``replacements``."""
        site = self.prefix / "factory-iot.conf"
        site.write_text(
            _render(
                SHIPPED.read_text(),
                {
                    "/etc/ssl/factory-iot/fullchain.pem": str(self.certs / "fullchain.pem"),
                    "/etc/ssl/factory-iot/privkey.pem": str(self.certs / "privkey.pem"),
                    **replacements,
                },
            )
        )
        temp = {
            kind: self.prefix / kind
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        }
        for path in temp.values():
            path.mkdir(exist_ok=True)
        temp_lines = "\n".join(f"    {kind}_temp_path {path};" for kind, path in temp.items())
        main = self.prefix / "nginx.conf"
        main.write_text(
            f"""
# Tests run as root; the workers stay root so that they can use the test's private temp dirs.
user root;
daemon off;
worker_processes 1;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {self.prefix}/access.log;
{temp_lines}
    include {site};
}}
"""
        )
        return main

    def check(self, config: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                NGINX,
                "-t",
                "-p",
                str(self.prefix),
                "-e",
                str(self.prefix / "error.log"),
                "-c",
                str(config),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def start(self, config: Path) -> ManagedProcess:
        argv = [
            NGINX,
            "-p",
            str(self.prefix),
            "-e",
            str(self.prefix / "error.log"),
            "-c",
            str(config),
        ]
        return ManagedProcess("nginx", argv, self.prefix / "nginx.out").start()


@pytest.fixture
def nginx(tmp_path: Path) -> Nginx:
    if not Path(NGINX).is_file():
        pytest.fail("nginx is not installed: make setup installs it (devtools/system-deps.sh)")
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", "/CN=factory.example.com",
            "-addext", "subjectAltName=DNS:factory.example.com,IP:127.0.0.1",
            "-keyout", str(certs / "privkey.pem"), "-out", str(certs / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    return Nginx(prefix, certs)


def test_the_shipped_file_passes_nginx_t(nginx: Nginx) -> None:
    result = nginx.check(nginx.configure({}))
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


@dataclass
class Bridge:
    proc: ManagedProcess
    url: str
    token: str  # a viewer's, to read the bridge's own /metrics directly

    def clients(self) -> float:
        text = requests.get(
            self.url + "/metrics", headers={"Authorization": f"Bearer {self.token}"}, timeout=15
        ).text
        for line in text.splitlines():
            if line.startswith("factory_bridge_clients_connected "):
                return float(line.split()[-1])
        raise AssertionError("no factory_bridge_clients_connected on /metrics")


@pytest.fixture
def two_bridges(broker: LocalBroker, tmp_path: Path) -> Iterator[list[Bridge]]:
    started: list[Bridge] = []
    try:
        for name in ("bridge-a", "bridge-b"):
            port = free_port()
            state = tmp_path / f"{name}-state"
            accounts = Accounts(state)
            accounts.add_user("alice", "operator", PASSWORD)
            token = accounts.add_token("probe", "viewer")
            env = {
                "FACTORY_MQTT_URL": broker.url,
                "FACTORY_HTTP_PORT": str(port),
                "FACTORY_STATE_DIR": str(state),
                "FACTORY_TRUST_PROXY": "true",
            }
            proc = ManagedProcess(
                name, python_module("bridge"), tmp_path / f"{name}.log", env, cwd=REPO
            ).start()
            url = f"http://127.0.0.1:{port}"
            started.append(Bridge(proc, url, token))
            proc.wait_until(
                lambda url=url: requests.get(url + "/api/health", timeout=2).ok,
                timeout=30,
                what="/api/health answers 200",
            )
        yield started
    finally:
        for bridge in started:
            bridge.proc.stop()


def _wait_until(check: Callable[[], bool], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _https_session(certs: Path) -> requests.Session:
    """A client that trusts the test's certificate (and not REQUESTS_CA_BUNDLE, which would
    override ``verify``)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(certs / "fullchain.pem")
    return session


def _login(base: str, origin: str, certs: Path) -> requests.Session:
    """What the dashboard does: POST the login from its page, keep the cookie."""
    session = _https_session(certs)
    answer = session.post(
        base + "/api/auth/login",
        json={"username": "alice", "password": PASSWORD},
        headers={"Origin": origin},
        timeout=15,
    )
    assert answer.status_code == 200, answer.text
    session.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return session


def test_login_and_socketio_through_nginx_in_front_of_two_bridges(
    nginx: Nginx, two_bridges: list[Bridge]
) -> None:
    http_port, https_port = free_port(), free_port()
    config = nginx.configure(
        {
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
            "server 127.0.0.1:5001 ": f"server {two_bridges[0].url.removeprefix('http://')} ",
            "server 127.0.0.1:5002 ": f"server {two_bridges[1].url.removeprefix('http://')} ",
        }
    )
    proc = nginx.start(config)
    try:
        wait_for_port(https_port, timeout=15)
        base = f"https://127.0.0.1:{https_port}"
        # The page's origin is https: only X-Forwarded-Proto tells the bridge so.
        session = _login(base, base, nginx.certs)
        cookie = next(c for c in session.cookies if c.name == "factory_session")
        assert cookie.secure, "the bridge should mark its cookie Secure behind https"
        me = session.get(base + "/api/auth/me", timeout=15)
        assert me.status_code == 200 and me.json()["user"]["name"] == "alice", me.text

        # Another site's page may not log in, so the origin check is on, not bypassed.
        refused = _https_session(nginx.certs).post(
            base + "/api/auth/login",
            json={"username": "alice", "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
            timeout=15,
        )
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden_origin"

        # The dashboard's Socket.IO client: polling first, then the WebSocket upgrade, whose
        # handshake carries Origin: https://... (websocket-client sends it as browsers do).
        client = socketio.Client(reconnection=False, http_session=session)
        states: list[object] = []
        client.on("state", states.append)
        client.connect(base, wait_timeout=15)
        try:
            upgraded = _wait_until(lambda: client.transport() == "websocket" and bool(states))
            assert upgraded, f"transport {client.transport()}, {len(states)} state pushes"
            serving = [b for b in two_bridges if b.clients() == 1]
            assert len(serving) == 1, "the client should be on exactly one of the two bridges"
        finally:
            client.disconnect()

        # Upgrades stop one bridge at a time: nginx sends the next login to the other one.
        serving[0].proc.stop()
        _login(base, base, nginx.certs)

        # Plain HTTP is redirected to https.
        plain = requests.get(f"http://127.0.0.1:{http_port}/", allow_redirects=False, timeout=15)
        assert plain.status_code == 301
        assert plain.headers["Location"].startswith("https://")
    finally:
        proc.stop()
    assert "[emerg]" not in (nginx.prefix / "error.log").read_text()


def test_the_scale_out_guide_sets_the_same_proxy_headers_as_the_tested_file() -> None:
    def headers(text: str) -> set[str]:
        return set(re.findall(r"^\s*(proxy_set_header\s+\S+\s+\S+;)", text, flags=re.M))

    guide = (REPO / "docs" / "scale-out.md").read_text()
    (example,) = re.findall(r"```nginx\n(.*?)```", guide, flags=re.S)
    assert headers(example) == headers(SHIPPED.read_text())
