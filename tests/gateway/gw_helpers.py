"""Helpers for the gateway tests: the Pi-like test board, command payloads, matchers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.mqtt_probe import Received
from factory_core.contract import Topics
from gateway.service import Gateway

GW = "testgw"
topics = Topics()
# What the ``start_gateway`` fixture gives. Imported from here, not from conftest: with several
# test folders in one run, ``conftest`` may name another folder's module.
GatewayFactory = Callable[..., Gateway]

# The test board: pins (BCM) of the relays and the input.
MOTOR, LIGHT, HORN, VALVE, DOOR = 5, 6, 13, 19, 17


def write_ds18b20(base: Path, millideg: int, crc_ok: bool = True) -> Path:
    device = base / "28-0316a2791cff"
    device.mkdir(parents=True, exist_ok=True)
    crc = "YES" if crc_ok else "NO"
    (device / "w1_slave").write_text(
        f"72 01 4b 46 7f ff 0e 10 57 : crc=57 {crc}\n72 01 4b 46 7f ff 0e 10 57 t={millideg}\n"
    )
    return device


def board(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """A Pi board on the rpi_gpio backend, with intervals scaled down for tests."""
    data: dict[str, Any] = {
        "gateway_id": GW,
        "name": "Test board",
        "state_dir": str(tmp_path / "state"),
        "system_interval_s": 0.5,
        "link_loss_timeout_s": 2.0,
        "clock_skew_s": 0.5,
        "hardware": {"backend": "rpi_gpio"},
        "relays": [
            {"id": "motor", "name": "Motor", "pin": MOTOR, "active_low": True},
            {"id": "light", "name": "Light", "pin": LIGHT, "on_link_loss": "hold"},
            {"id": "horn", "name": "Horn", "pin": HORN, "pulse_ms": 300},
            {"id": "valve", "name": "Valve", "pin": VALVE, "min_interval_s": 3600},
        ],
        "inputs": [
            {"id": "door", "name": "Door", "pin": DOOR, "pull": "up", "active_low": True},
        ],
        "sensors": [
            {
                "type": "ds18b20",
                "id": "oven",
                "name": "Oven",
                "base_dir": str(tmp_path / "w1"),
                "interval_s": 0.2,
                "deadband": 0.1,
            }
        ],
    }
    data.update(overrides)
    return data


def is_online(m: Received) -> bool:
    return m.topic == topics.status(GW) and m.text == "online"


def command(relay: str, on: bool, cid: str, deadline: float | None = None, **extra: Any) -> bytes:
    body = {"on": on, "id": cid, "by": "test", "deadline": deadline or time.time() + 30, **extra}
    return json.dumps(body).encode()


def result_for(cid: str) -> Callable[[Received], bool]:
    return lambda m: m.topic.endswith("/result") and json.loads(m.payload).get("id") == cid
