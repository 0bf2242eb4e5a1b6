"""Digital inputs: published on the edge (event detection), not by polling."""

from __future__ import annotations

from collections.abc import Callable

from gateway.config import InputConfig
from gateway.hardware.base import PinBackend


class DigitalInput:
    def __init__(
        self,
        config: InputConfig,
        backend: PinBackend,
        on_change: Callable[[DigitalInput, bool], None],
    ) -> None:
        self.config = config
        self.backend = backend
        self._on_change = on_change

    @property
    def id(self) -> str:
        return self.config.id

    def setup(self) -> None:
        self.backend.setup_input(self.config.pin, self.config.pull)
        self.backend.watch(self.config.pin, self._edge, self.config.debounce_ms)

    def read(self) -> bool:
        return self.backend.read(self.config.pin) != self.config.active_low

    def _edge(self, level: bool) -> None:
        self._on_change(self, level != self.config.active_low)
