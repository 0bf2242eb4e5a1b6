"""Gateway fixtures: the fake RPi.GPIO module, a Pi-like test board, an in-process gateway."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from gw_helpers import GatewayFactory, board, write_ds18b20

from devtools.local_broker import LocalBroker
from gateway.config import GatewayConfig, parse_config
from gateway.hardware.factory import make_backend
from gateway.service import Gateway

FAKES = Path(__file__).resolve().parents[1] / "fakes"


@pytest.fixture(autouse=True)
def _no_factory_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment overrides config: a developer's FACTORY_* must not leak into tests."""
    import os

    for name in list(os.environ):
        if name.startswith("FACTORY_") or name in ("NOTIFY_SOCKET", "WATCHDOG_USEC"):
            monkeypatch.delenv(name)


@pytest.fixture
def gpio(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """tests/fakes/RPi/GPIO.py imported as ``RPi.GPIO``, reset for this test."""
    monkeypatch.syspath_prepend(str(FAKES))
    for name in ("RPi", "RPi.GPIO"):
        sys.modules.pop(name, None)
    module = importlib.import_module("RPi.GPIO")
    module.reset()
    yield module
    for name in ("RPi", "RPi.GPIO"):
        sys.modules.pop(name, None)


@pytest.fixture
def broker_env(broker: LocalBroker, monkeypatch: pytest.MonkeyPatch) -> LocalBroker:
    # The broker URL carries a password: it comes from the environment, as in production.
    monkeypatch.setenv("FACTORY_MQTT_URL", broker.url)
    return broker


@pytest.fixture
def start_gateway(
    broker_env: LocalBroker, gpio: ModuleType, tmp_path: Path
) -> Iterator[GatewayFactory]:
    """Start an in-process gateway on the test board (stopped at teardown)."""
    started: list[Gateway] = []
    write_ds18b20(tmp_path / "w1", 21437)

    def start(**overrides: Any) -> Gateway:
        config: GatewayConfig = parse_config(board(tmp_path, **overrides))
        gateway = Gateway(config, make_backend(config.hardware))
        gateway.start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()
