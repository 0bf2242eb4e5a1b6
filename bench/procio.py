"""What the load-generator processes share: connecting to the broker, result files."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from factory_core.mqtt import make_client
from factory_core.settings import BrokerAddress


def connect_blocking(
    broker: BrokerAddress,
    client_id: str,
    on_connect: Any = None,
    on_message: Any = None,
    timeout: float = 10,
) -> paho.Client:
    """A connected client (MQTT 5, TCP_NODELAY) whose loop the caller drives."""
    connected: list[bool] = []

    def _connected(client: paho.Client) -> None:
        connected.append(True)
        if on_connect is not None:
            on_connect(client)

    client = make_client(
        broker,
        f"{client_id}-{os.getpid()}",
        on_connect=_connected,
        on_message=on_message or (lambda _m: None),
    )
    client.connect(broker.host, broker.port, keepalive=30)
    deadline = time.monotonic() + timeout
    while not connected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no CONNACK from {broker} within {timeout} s")
        client.loop(0.05)
    return client


TOKEN_ENV = "FACTORY_BENCH_TOKEN"


def bridge_token() -> str | None:
    """The bridge API token the orchestrator handed this load process, if any."""
    return os.environ.get(TOKEN_ENV) or None


def write_json(path: Path, data: Any) -> None:
    """Write atomically, so the orchestrator never reads a half-written result."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def mark_ready(path: Path | None) -> None:
    if path is not None:
        path.write_text(str(os.getpid()))
