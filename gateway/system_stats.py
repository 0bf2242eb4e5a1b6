"""The host's vital signs from psutil: CPU, memory, disk, temperature, load, uptime."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil

from factory_core.contract import SystemStats
from gateway.sensors import Sensor, SensorError


class HostStats:
    def __init__(self, cpu_temperature: Sensor | None = None, disk_path: Path = Path("/")) -> None:
        self.cpu_temperature = cpu_temperature
        self.disk_path = disk_path
        # A first cpu_percent(None) compares against nothing and returns 0.0: measure a short
        # real window once, so that stats are there (and true) right at start-up.
        self._first_cpu: float | None = psutil.cpu_percent(interval=0.2)
        self._boot_time = psutil.boot_time()

    def sample(self) -> SystemStats:
        temperature: float | None = None
        if self.cpu_temperature is not None:
            try:
                temperature = round(self.cpu_temperature.read(), 1)
            except (SensorError, OSError):
                temperature = None
        cpu, self._first_cpu = (
            (self._first_cpu, None)
            if self._first_cpu is not None
            else (psutil.cpu_percent(interval=None), None)
        )
        now = time.time()
        load = tuple(round(x, 2) for x in os.getloadavg())
        return SystemStats(
            cpu=min(100.0, cpu),
            memory=psutil.virtual_memory().percent,
            disk=psutil.disk_usage(str(self.disk_path)).percent,
            temperature=temperature,
            load=(load[0], load[1], load[2]),
            uptime=round(max(0.0, now - self._boot_time), 1),
            ts=now,
        )
