"""Peers of the bridge for tests: a gateway on the wire, Socket.IO clients, a bridge process."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import requests
import socketio
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from bridge.contract import EVENTS
from bridge.security.accounts import Accounts
from devtools.dashboard_mirror import apply_delta
from devtools.local_broker import REPO, free_port
from devtools.procs import ManagedProcess, python_module
from factory_core.contract import (
    CommandResult,
    DeviceInfo,
    DeviceState,
    GatewayMeta,
    RelayCommand,
    RelayInfo,
    RelayState,
    SystemStats,
    Topics,
    decode,
)
from factory_core.settings import parse_mqtt_url

# --------------------------------------------------------------------------- bridge process


ROLES = ("viewer", "operator", "admin")
PASSWORD = "correct horse battery staple"


@dataclass
class RunningBridge:
    """A bridge process with one API token per role (``tokens``) in its state dir."""

    proc: ManagedProcess
    url: str
    state_dir: Path
    tokens: dict[str, str]

    def auth(self, role: str | None = "admin") -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, path: str, role: str | None = "admin", **kw: Any) -> requests.Response:
        headers = {**self.auth(role), **kw.pop("headers", {})}
        return requests.get(self.url + path, timeout=15, headers=headers, **kw)

    def post(self, path: str, role: str | None = "admin", **kw: Any) -> requests.Response:
        headers = {**self.auth(role), **kw.pop("headers", {})}
        return requests.post(self.url + path, timeout=15, headers=headers, **kw)

    def add_user(self, name: str, role: str, password: str = PASSWORD) -> None:
        Accounts(self.state_dir).add_user(name, role, password)

    def login(self, name: str, password: str = PASSWORD) -> requests.Session:
        """A browser-like session: the cookie it got, and its CSRF token as a default header."""
        session = requests.Session()
        answer = session.post(
            self.url + "/api/auth/login", json={"username": name, "password": password}, timeout=15
        )
        answer.raise_for_status()
        session.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return session

    def metric(self, name: str) -> float:
        """A sample's value on /metrics, e.g. 'factory_bridge_commands_total{outcome="ok"}'."""
        for line in self.get("/metrics").text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return 0.0


def start_bridge(
    mqtt_url: str,
    workdir: Path,
    name: str = "bridge",
    state_dir: Path | None = None,
    **env: str,
) -> RunningBridge:
    port = free_port()
    state = state_dir or workdir / f"{name}-state"
    accounts = Accounts(state)
    tokens = {}
    for role in ROLES:
        if accounts.token_named(f"test-{role}") is not None:
            accounts.revoke_token(f"test-{role}")
        tokens[role] = accounts.add_token(f"test-{role}", role)
    full_env = {
        "FACTORY_MQTT_URL": mqtt_url,
        "FACTORY_HTTP_PORT": str(port),
        "FACTORY_BRIDGE_STATS_INTERVAL": "0.5",
        "FACTORY_LOG_LEVEL": "INFO",
        "FACTORY_STATE_DIR": str(state),
        **env,
    }
    proc = ManagedProcess(
        name, python_module("bridge"), workdir / f"{name}.log", full_env, cwd=REPO
    ).start()
    url = f"http://127.0.0.1:{port}"
    proc.wait_until(
        lambda: requests.get(url + "/api/health", timeout=2).status_code == 200,
        timeout=30,
        what="/api/health answers 200",
    )
    return RunningBridge(proc, url, state, tokens)


# --------------------------------------------------------------------------- fake gateway


class FakeGateway:
    """A field device on the wire, per the MQTT contract: meta, status with a last will,
    states, and answers to relay commands. ``answer`` is "ok", "silent" or an error code."""

    def __init__(
        self,
        url: str,
        gateway: str = "line1",
        devices: tuple[str, ...] = ("temperature", "humidity"),
        relays: tuple[str, ...] = ("relay_1", "relay_2"),
        prefix: str = "factory",
        answer: str = "ok",
    ) -> None:
        self.topics = Topics(prefix)
        self.gateway = gateway
        self.devices = devices
        self.relays = {r: False for r in relays}
        self.answer = answer
        self.commands: list[RelayCommand] = []
        self.seq = 0
        self._address = parse_mqtt_url(url)
        self._connected = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"fakegw-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if self._address.username:
            self.client.username_pw_set(self._address.username, self._address.password)
        self.client.will_set(self.topics.status(gateway), b"offline", qos=1, retain=True)
        self.client.on_connect = lambda c, _u, _f, rc, _p: rc.is_failure or self._on_connect(c)
        self.client.on_message = lambda _c, _u, msg: self._on_message(msg)

    def meta(self) -> GatewayMeta:
        return GatewayMeta(
            version="test",
            name=f"Fake {self.gateway}",
            devices=[
                DeviceInfo(id=d, name=d.title(), kind="analog", unit="u") for d in self.devices
            ],
            relays=[RelayInfo(id=r, name=r.replace("_", " ").title()) for r in self.relays],
        )

    def start(self) -> FakeGateway:
        self.client.connect(self._address.host, self._address.port, keepalive=10)
        self.client.loop_start()
        if not self._connected.wait(10):
            raise TimeoutError("fake gateway could not connect")
        return self

    def _on_connect(self, c: paho.Client) -> None:
        c.subscribe(self.topics.command_filter(self.gateway), qos=1)
        self._pub(self.topics.meta(self.gateway), self.meta().to_bytes(), retain=True)
        self._pub(self.topics.status(self.gateway), b"online", retain=True)
        for relay in self.relays:
            self.publish_relay(relay, cmd=None)
        self._connected.set()

    def _pub(self, topic: str, payload: bytes, retain: bool = False, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def publish_device(self, device: str, value: float | bool | None, qos: int = 1) -> None:
        state = DeviceState(value=value, unit="u", ts=time.time(), seq=self.next_seq())
        self._pub(self.topics.device_state(self.gateway, device), state.to_bytes(), True, qos)

    def publish_relay(self, relay: str, cmd: str | None) -> None:
        state = RelayState(on=self.relays[relay], ts=time.time(), seq=self.next_seq(), cmd=cmd)
        self._pub(self.topics.relay_state(self.gateway, relay), state.to_bytes(), retain=True)

    def publish_system(self, cpu: float) -> None:
        stats = SystemStats(cpu=cpu, memory=10, disk=20, uptime=5, ts=time.time())
        self._pub(self.topics.system(self.gateway), stats.to_bytes(), retain=True, qos=0)

    def _on_message(self, msg: paho.MQTTMessage) -> None:
        message = decode(self.topics, msg.topic, bytes(msg.payload))
        command = message.payload
        assert isinstance(command, RelayCommand)
        relay = message.topic.relay  # type: ignore[union-attr]
        self.commands.append(command)
        result_topic = self.topics.relay_result(self.gateway, relay)
        if self.answer == "silent":
            return
        if self.answer == "ok":
            self.relays[relay] = command.on
            self.publish_relay(relay, cmd=command.id)
            result = CommandResult(id=command.id, ok=True, on=command.on)
        else:
            result = CommandResult(
                id=command.id, ok=False, on=self.relays[relay], error=self.answer, detail="no"
            )  # type: ignore[arg-type]
        self._pub(result_topic, result.to_bytes())

    def crash(self) -> None:
        """Vanish without DISCONNECT, so the broker publishes the last will."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# --------------------------------------------------------------------------- Socket.IO client


@dataclass
class LiveClient:
    """A dashboard-like client: holds the state, applies deltas whose prev matches."""

    url: str
    transports: list[str] = field(default_factory=lambda: ["websocket"])
    state: dict[str, Any] | None = None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    gaps: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("state", self._on_state)
        for event in EVENTS:
            self.sio.on(event, self._delta_handler(event))

    def connect(self, **kw: Any) -> LiveClient:
        self.sio.connect(self.url, transports=self.transports, wait_timeout=10, **kw)
        self.wait(lambda: self.state is not None, "the full state after connect")
        return self

    def close(self) -> None:
        self.sio.disconnect()

    @property
    def version(self) -> int:
        assert self.state is not None
        return int(self.state["version"])

    def _on_state(self, data: dict[str, Any]) -> None:
        with self.cond:
            self.events.append(("state", data))
            self.state = data
            self.cond.notify_all()

    def _delta_handler(self, event: str) -> Callable[[dict[str, Any]], None]:
        def handler(data: dict[str, Any]) -> None:
            with self.cond:
                self.events.append((event, data))
                if self.state is not None and apply_delta(self.state, event, data) is False:
                    self.gaps += 1
                self.cond.notify_all()

        return handler

    def wait(self, check: Callable[[], Any], what: str = "", timeout: float = 15) -> Any:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = check()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"client: not within {timeout} s: {what}")
                self.cond.wait(left)

    def received(self, event: str) -> list[dict[str, Any]]:
        with self.cond:
            return [d for e, d in self.events if e == event]

    def item(self, field_name: str, key: str) -> dict[str, Any] | None:
        with self.cond:
            return None if self.state is None else self.state[field_name].get(key)

    def call(self, event: str, data: Any = None) -> Any:
        if data is None:
            return self.sio.call(event, timeout=15)
        return self.sio.call(event, data, timeout=15)
