"""A simulated board: a behavioural fake of a GPIO header, for the demo and laptops.

Outputs keep the level written; inputs can be driven with :meth:`drive`, or wired to follow
an output (``wiring = {input_pin: output_pin}``) so that e.g. "machine running" follows the
conveyor motor's relay in the demo.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from gateway.hardware.base import EdgeCallback, HardwareError, Pull


class SimulatedBoard:
    name = "simulated"

    def __init__(self, wiring: Mapping[int, int] | None = None) -> None:
        self._lock = threading.RLock()
        self._levels: dict[int, bool] = {}
        self._outputs: set[int] = set()
        self._callbacks: dict[int, EdgeCallback] = {}
        self._wiring = dict(wiring or {})

    def setup_output(self, pin: int, level: bool) -> None:
        with self._lock:
            self._outputs.add(pin)
            self._levels[pin] = level
        self._propagate(pin)

    def setup_input(self, pin: int, pull: Pull) -> None:
        with self._lock:
            if pin in self._outputs:
                raise HardwareError(f"simulated pin {pin} is already an output")
            source = self._wiring.get(pin)
            if source is not None and source in self._levels:
                self._levels[pin] = self._levels[source]
            else:
                self._levels.setdefault(pin, pull == "up")

    def write(self, pin: int, level: bool) -> None:
        with self._lock:
            if pin not in self._outputs:
                raise HardwareError(f"simulated pin {pin} is not set up as an output")
            self._levels[pin] = level
        self._propagate(pin)

    def read(self, pin: int) -> bool:
        with self._lock:
            if pin not in self._levels:
                raise HardwareError(f"simulated pin {pin} is not set up")
            return self._levels[pin]

    def watch(self, pin: int, callback: EdgeCallback, debounce_ms: int) -> None:
        with self._lock:
            self._callbacks[pin] = callback

    def drive(self, pin: int, level: bool) -> None:
        """Set an input pin from outside (a switch, a sensor contact); fires its edge callback."""
        with self._lock:
            if pin in self._outputs:
                raise HardwareError(f"simulated pin {pin} is an output; it cannot be driven")
            changed = self._levels.get(pin) != level
            self._levels[pin] = level
            callback = self._callbacks.get(pin)
        if changed and callback is not None:
            callback(level)

    def _propagate(self, output_pin: int) -> None:
        level = self.read(output_pin)
        for input_pin, source in self._wiring.items():
            if source == output_pin and input_pin not in self._outputs:
                self.drive(input_pin, level)

    def close(self, keep: Iterable[int] = ()) -> None:
        with self._lock:
            self._callbacks.clear()
