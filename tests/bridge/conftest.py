"""Fixtures for the bridge's tests: the bridge runs as a real subprocess (gevent stays there)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bridge_helpers import FakeGateway, LiveClient, RunningBridge, start_bridge

from devtools.local_broker import LocalBroker


@pytest.fixture
def bridges(broker: LocalBroker, tmp_path: Path) -> Iterator[Callable[..., RunningBridge]]:
    """Start bridges with extra FACTORY_* settings; all are stopped (by pid) afterwards."""
    started: list[RunningBridge] = []

    def start(state_dir: Path | None = None, **env: str) -> RunningBridge:
        name = f"bridge{len(started)}"
        running = start_bridge(broker.url, tmp_path, name, state_dir, **env)
        started.append(running)
        return running

    yield start
    for running in started:
        running.proc.stop()


@pytest.fixture
def gateway(broker: LocalBroker) -> Iterator[FakeGateway]:
    gw = FakeGateway(broker.url).start()
    yield gw
    gw.stop()


@pytest.fixture
def clients() -> Iterator[Callable[..., LiveClient]]:
    made: list[LiveClient] = []

    def connect(
        bridge: RunningBridge, transports: list[str] | None = None, role: str = "operator"
    ) -> LiveClient:
        auth = {"token": bridge.tokens[role]}
        client = LiveClient(bridge.url, transports or ["websocket"]).connect(auth=auth)
        made.append(client)
        return client

    yield connect
    for client in made:
        client.close()
