"""The pin backend a config names."""

from __future__ import annotations

from gateway.config import HardwareConfig
from gateway.hardware.base import PinBackend
from gateway.hardware.rpi_gpio import RpiGpioBackend
from gateway.hardware.simulated import SimulatedBoard


def make_backend(config: HardwareConfig) -> PinBackend:
    """Raises HardwareError if the backend cannot run here (RPi.GPIO loads only now)."""
    if config.backend == "rpi_gpio":
        return RpiGpioBackend(config.numbering)
    return SimulatedBoard(config.simulated_wiring)
