"""DS18B20 1-wire temperature sensor, read from the kernel's w1 sysfs tree."""

from __future__ import annotations

from pathlib import Path

from gateway.sensors import SensorError


class Ds18b20:
    def __init__(self, base_dir: Path, serial: str | None = None) -> None:
        self.base_dir = base_dir
        self.serial = serial

    def _device_dir(self) -> Path:
        if self.serial:
            return self.base_dir / self.serial
        found = sorted(self.base_dir.glob("28-*"))
        if not found:
            raise SensorError(f"no DS18B20 (28-*) under {self.base_dir}")
        return found[0]

    def read(self) -> float:
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
