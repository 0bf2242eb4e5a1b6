"""Sensors: each reads one value or raises SensorError; built from config by ``make_sensor``."""

from __future__ import annotations

from typing import Protocol


class SensorError(RuntimeError):
    """The sensor could not be read; published as quality ``bad`` with value null."""


class Sensor(Protocol):
    def read(self) -> float: ...
