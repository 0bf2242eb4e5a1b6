"""Sensors built from their config."""

from __future__ import annotations

from gateway.config import CpuTempConfig, Ds18b20Config, SensorConfig, SimulatedSensorConfig
from gateway.sensors import Sensor
from gateway.sensors.cpu_temp import CpuTemperature
from gateway.sensors.ds18b20 import Ds18b20
from gateway.sensors.simulated import RandomWalk


def make_sensor(config: SensorConfig) -> Sensor:
    match config:
        case Ds18b20Config():
            return Ds18b20(config.base_dir, config.serial)
        case CpuTempConfig():
            return CpuTemperature(config.thermal_zone)
        case SimulatedSensorConfig():
            return RandomWalk(
                config.setpoint, config.step, config.minimum, config.maximum, config.seed
            )
    raise AssertionError(config)  # pragma: no cover
