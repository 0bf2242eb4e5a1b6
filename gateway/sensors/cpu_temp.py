"""The host's CPU temperature: a sysfs thermal zone, else whatever psutil knows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil

from gateway.sensors import SensorError


class CpuTemperature:
    def __init__(self, thermal_zone: Path = Path("/sys/class/thermal/thermal_zone0/temp")) -> None:
        self.thermal_zone = thermal_zone

    def read(self) -> float:
        try:
            return int(self.thermal_zone.read_text().strip()) / 1000
        except (OSError, ValueError):
            pass
        # psutil has no sensors_temperatures() on some platforms (macOS, Windows).
        reader = getattr(psutil, "sensors_temperatures", None)
        readings: dict[str, list[Any]] = reader() if reader else {}
        for name in ("cpu_thermal", "coretemp", "k10temp", "soc_thermal", *readings):
            if readings.get(name):
                return float(readings[name][0].current)
        raise SensorError(f"no CPU temperature: {self.thermal_zone} unreadable, psutil has none")
