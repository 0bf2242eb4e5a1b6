"""A simulated analogue sensor: a random walk pulled back towards its setpoint."""

from __future__ import annotations

import random


class RandomWalk:
    # Fraction of the distance to the setpoint recovered per sample: keeps the walk bounded
    # around the setpoint while still wandering visibly.
    PULL = 0.05

    def __init__(
        self,
        setpoint: float,
        step: float,
        minimum: float | None = None,
        maximum: float | None = None,
        seed: int | None = None,
    ) -> None:
        self.setpoint = setpoint
        self.step = step
        self.minimum = minimum
        self.maximum = maximum
        self._rng = random.Random(seed)
        self._value = setpoint

    def read(self) -> float:
        value = self._value + self._rng.gauss(0, self.step)
        value += (self.setpoint - value) * self.PULL
        if self.minimum is not None:
            value = max(self.minimum, value)
        if self.maximum is not None:
            value = min(self.maximum, value)
        self._value = value
        return value
