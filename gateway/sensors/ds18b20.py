"""DS18B20 1-wire temperature sensor, read from the kernel's w1 sysfs tree."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from gateway.sensors import SensorError

# The scratchpad holds +85 °C after power-on until a conversion completes, so a read right
# after a brown-out or hot-plug returns exactly this.
POWER_ON_RESET_C: Final = 85.0
# A real 85 °C is reached by a process warming through the previous readings; a jump to
# exactly 85.000 from further away than this (or from no reading) is the reset value.
PLAUSIBLE_STEP_C: Final = 5.0


class Ds18b20:
    def __init__(self, base_dir: Path, serial: str | None = None) -> None:
        self.base_dir = base_dir
        self.serial = serial
        self._last: float | None = None  # the last good reading

    def _device_dir(self) -> Path:
        if self.serial:
            return self.base_dir / self.serial
        found = sorted(self.base_dir.glob("28-*"))
        if not found:
            raise SensorError(f"no DS18B20 (28-*) under {self.base_dir}")
        return found[0]

    def read(self) -> float:
        try:
            value = self._read_raw()
        except SensorError:
            self._last = None  # the sensor may be power-cycled: its next 85.000 is suspect
            raise
        if value == POWER_ON_RESET_C and (
            self._last is None or abs(self._last - value) > PLAUSIBLE_STEP_C
        ):
            last = "no earlier reading" if self._last is None else f"last reading {self._last}"
            raise SensorError(
                f"DS18B20 gave 85.000 °C, its power-on reset value, not a measurement ({last})"
            )
        self._last = value
        return value

    def _read_raw(self) -> float:
        device = self._device_dir()
        try:
            # Newer kernels offer `temperature` (millidegrees) next to the older `w1_slave`.
            simple = device / "temperature"
            if simple.exists():
                return int(simple.read_text().strip()) / 1000
            return self._parse_w1_slave(device / "w1_slave")
        except OSError as exc:
            raise SensorError(f"cannot read DS18B20 {device.name}: {exc.strerror}") from None
        except ValueError as exc:
            raise SensorError(f"DS18B20 {device.name} gave an unreadable value: {exc}") from None

    @staticmethod
    def _parse_w1_slave(path: Path) -> float:
        lines = path.read_text().splitlines()
        if len(lines) < 2 or not lines[0].strip().endswith("YES"):
            raise SensorError(f"DS18B20 {path.parent.name}: CRC check failed ({lines[:1]!r})")
        _, sep, raw = lines[1].rpartition("t=")
        if not sep:
            raise SensorError(f"DS18B20 {path.parent.name}: no 't=' in {lines[1]!r}")
        return int(raw.strip()) / 1000
