"""What the gateway service is built from: components it starts in order, stops in reverse.

A component owns one concern (the relays, sampling, link-loss supervision, Home Assistant
discovery, and next alarms and interlocks). It gets what it needs in its constructor (the
MQTT link, the actuator worker, the config) and registers its MQTT routes and link listeners
there; ``start()`` brings it up before the link connects, ``stop()`` takes it down while the
link is still up, so whatever it publishes on the way down still goes out.
"""

from __future__ import annotations

from typing import Protocol


class Component(Protocol):
    def start(self) -> None:
        """Bring the component up; it may schedule work but must not block."""

    def stop(self) -> None:
        """Take it down; called once, in reverse start order, only if ``start`` returned."""
