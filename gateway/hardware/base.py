"""The pin interface that relays and digital inputs talk to (gpiozero-style pin factory)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal, Protocol, TypeAlias

Pull: TypeAlias = Literal["up", "down", "off"]
EdgeCallback: TypeAlias = Callable[[bool], None]


class HardwareError(RuntimeError):
    """A pin could not be set up, written or read."""


class PinBackend(Protocol):
    """Logical levels only (True = high); active-low mapping happens in relays/inputs."""

    name: str

    def setup_output(self, pin: int, level: bool) -> None:
        """Make ``pin`` an output that starts at ``level`` (no glitch through the other level)."""

    def setup_input(self, pin: int, pull: Pull) -> None: ...

    def write(self, pin: int, level: bool) -> None: ...

    def read(self, pin: int) -> bool:
        """The pin's level; for an output, the level it actually has (read back)."""

    def watch(self, pin: int, callback: EdgeCallback, debounce_ms: int) -> None:
        """Call ``callback(level)`` on every edge of an input, from the backend's own thread."""

    def close(self, keep: Iterable[int] = ()) -> None:
        """Release every pin except ``keep`` (outputs that must hold their level)."""
