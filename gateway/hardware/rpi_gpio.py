"""RPi.GPIO backend; the only module that imports ``RPi.GPIO`` (rpi-lgpio provides it on a Pi 5)."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable
from types import ModuleType
from typing import Any, Literal

from gateway.hardware.base import EdgeCallback, HardwareError, Pull

log = logging.getLogger(__name__)


def _load_gpio() -> ModuleType:
    try:
        return importlib.import_module("RPi.GPIO")
    except ImportError as exc:
        raise HardwareError(
            f"backend 'rpi_gpio' needs the RPi.GPIO module ({exc}): "
            "pip install 'factory-iot[pi]' (or '[pi5]' on a Raspberry Pi 5)"
        ) from None
    except RuntimeError as exc:  # RPi.GPIO raises this when not on a Pi or without /dev/gpiomem
        raise HardwareError(f"RPi.GPIO cannot run here: {exc}") from None


class RpiGpioBackend:
    name = "rpi_gpio"

    def __init__(self, numbering: Literal["BCM", "BOARD"] = "BCM") -> None:
        self._gpio: Any = _load_gpio()
        # Reentrant: a driver may call an edge callback (which reads) from inside a write.
        self._lock = threading.RLock()
        self._pins: set[int] = set()
        self._watched: set[int] = set()
        self._call(self._gpio.setwarnings, False)
        self._call(self._gpio.setmode, getattr(self._gpio, numbering))

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (RuntimeError, ValueError, OSError) as exc:
            where = f" on pin {args[0]}" if args and isinstance(args[0], int) else ""
            raise HardwareError(f"RPi.GPIO {fn.__name__}{where} failed: {exc}") from exc

    def _level(self, level: bool) -> int:
        return int(self._gpio.HIGH if level else self._gpio.LOW)

    def setup_output(self, pin: int, level: bool) -> None:
        with self._lock:
            self._call(self._gpio.setup, pin, self._gpio.OUT, initial=self._level(level))
            self._pins.add(pin)

    def setup_input(self, pin: int, pull: Pull) -> None:
        pud = {"up": self._gpio.PUD_UP, "down": self._gpio.PUD_DOWN, "off": self._gpio.PUD_OFF}
        with self._lock:
            self._call(self._gpio.setup, pin, self._gpio.IN, pull_up_down=pud[pull])
            self._pins.add(pin)

    def write(self, pin: int, level: bool) -> None:
        with self._lock:
            self._call(self._gpio.output, pin, self._level(level))

    def read(self, pin: int) -> bool:
        # On an output pin RPi.GPIO.input() returns the level the pin really has.
        with self._lock:
            return bool(self._call(self._gpio.input, pin))

    def watch(self, pin: int, callback: EdgeCallback, debounce_ms: int) -> None:
        def on_edge(channel: int) -> None:
            # RPi.GPIO's own thread: an exception here would be lost with the edge.
            try:
                level = self.read(channel)
            except HardwareError as exc:
                log.error("input pin %s: edge seen but the level cannot be read: %s", channel, exc)
                return
            callback(level)

        kwargs: dict[str, Any] = {"callback": on_edge}
        if debounce_ms > 0:  # RPi.GPIO rejects a bouncetime of 0
            kwargs["bouncetime"] = debounce_ms
        with self._lock:
            self._call(self._gpio.add_event_detect, pin, self._gpio.BOTH, **kwargs)
            self._watched.add(pin)

    def close(self, keep: Iterable[int] = ()) -> None:
        held = set(keep)
        with self._lock:
            for pin in sorted(self._watched):
                self._gpio.remove_event_detect(pin)
            self._watched.clear()
            # cleanup() turns pins back into inputs, which would release a held relay.
            release = sorted(self._pins - held)
            if release:
                self._gpio.cleanup(release)
            self._pins.clear()
