"""Sampling as a component: sensors and host stats on a timer, digital inputs on their edges.

Its own worker thread keeps slow reads (a 750 ms 1-wire conversion) away from the relays and
the MQTT loop. A device's state is published when it moved beyond its deadband, and again
every ``republish_interval_s`` for inputs (an edge lost in an outage is corrected then).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from factory_core.contract import DeviceState, SystemStats, Topics
from factory_core.ratelimited_log import RateLimitedLog
from gateway.actuation import Outbound, Send
from gateway.config import GatewayConfig
from gateway.deadband import Deadband
from gateway.hardware.base import HardwareError, PinBackend
from gateway.inputs import DigitalInput
from gateway.metrics import GatewayMetrics
from gateway.sensors import Sensor
from gateway.sensors.cpu_temp import CpuTemperature
from gateway.sensors.factory import make_sensor
from gateway.system_stats import HostStats
from gateway.worker import Worker

log = logging.getLogger(__name__)

# Told of every reading taken (device id, value, quality), published or not: the alarms.
Observer = Callable[[str, float | bool | None, str], None]


@dataclass
class _Channel:
    """The last state of one device (sensor or input) and its publish policy."""

    topic: str
    unit: str | None
    deadband: Deadband
    precision: int = 2
    state: DeviceState | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Sampling:
    def __init__(
        self,
        config: GatewayConfig,
        backend: PinBackend,
        send: Send,
        metrics: GatewayMetrics,
        *,
        sensors: dict[str, Sensor] | None = None,
        host_stats: HostStats | None = None,
        observe: Observer | None = None,
    ) -> None:
        self.config = config
        self.observe = observe
        self.gw = config.gateway_id
        self.topics: Topics = config.topics
        self.send = send
        self.metrics = metrics
        self.sensors = (
            sensors if sensors is not None else {s.id: make_sensor(s) for s in config.sensors}
        )
        self.host_stats = host_stats
        self.worker = Worker(f"{self.gw}-sampler")
        self.dropped = RateLimitedLog(log)
        self.inputs = [DigitalInput(c, backend, self._on_input) for c in config.inputs]
        self.channels: dict[str, _Channel] = {}
        for s in config.sensors:
            self.channels[s.id] = self._channel(s.id, s.unit, s.deadband, s.precision)
        for i in config.inputs:
            self.channels[i.id] = self._channel(i.id, None, 0.0, 0)
        self.last_stats: SystemStats | None = None

    def _channel(self, dev: str, unit: str | None, deadband: float, precision: int) -> _Channel:
        period = self.config.republish_interval_s
        return _Channel(
            self.topics.device_state(self.gw, dev), unit, Deadband(deadband, period), precision
        )

    def start(self) -> None:
        for digital_input in self.inputs:
            digital_input.setup()
        if self.host_stats is None:
            self.host_stats = HostStats(CpuTemperature())
        self.worker.start()
        for s in self.config.sensors:
            self.worker.call_every(s.interval_s, functools.partial(self._sample, s.id))
        self.worker.call_every(self.config.system_interval_s, self._publish_stats)
        period = self.config.republish_interval_s
        self.worker.call_every(period, self._republish_inputs, first_delay_s=period)

    def stop(self) -> None:
        self.worker.stop()

    def republish(self) -> None:
        """Every device's current state and the last host stats, retained (a rebirth)."""
        self._republish_inputs()
        for dev, channel in self.channels.items():
            if dev in self.sensors and channel.state is not None:
                self.send(Outbound(channel.topic, channel.state, retain=True))
        if self.last_stats is not None:
            self.send(Outbound(self.topics.system(self.gw), self.last_stats, qos=0, retain=True))

    def _republish_inputs(self) -> None:
        for digital_input in self.inputs:
            self._read_input(digital_input, force=True)

    def _publish_device(self, dev: str, value: float | bool | None, force: bool) -> None:
        channel = self.channels[dev]
        with channel.lock:
            state = DeviceState(
                value=value,
                unit=channel.unit,
                ts=time.time(),
                seq=0,
                quality="good" if value is not None else "bad",
            )
            channel.state = state
            if channel.deadband.offer(value, time.monotonic()) or force:
                self.send(Outbound(channel.topic, state, retain=True))
        if self.observe is not None:
            self.observe(dev, value, state.quality)

    def _sample(self, dev: str) -> None:
        channel = self.channels[dev]
        value: float | None
        try:
            value = round(float(self.sensors[dev].read()), channel.precision)
        except Exception as exc:  # any sensor failure is a bad reading, never a crash
            self.metrics.sensor_read_errors.labels(dev).inc()
            self.dropped.warning(f"sensor:{dev}", "sensor %s unreadable: %s", dev, exc)
            value = None
        self._publish_device(dev, value, force=False)

    def _on_input(self, digital_input: DigitalInput, value: bool) -> None:
        log.debug("input %s edge: %s", digital_input.id, value)
        self._publish_device(digital_input.id, value, force=False)

    def _read_input(self, digital_input: DigitalInput, force: bool) -> None:
        try:
            value: bool | None = digital_input.read()
        except HardwareError as exc:
            self.metrics.sensor_read_errors.labels(digital_input.id).inc()
            self.dropped.warning(
                f"input:{digital_input.id}", "input %s unreadable: %s", digital_input.id, exc
            )
            value = None
        self._publish_device(digital_input.id, value, force=force)

    def _publish_stats(self) -> None:
        assert self.host_stats is not None
        self.last_stats = self.host_stats.sample()
        self.send(Outbound(self.topics.system(self.gw), self.last_stats, qos=0, retain=True))
