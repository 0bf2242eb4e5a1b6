"""The gateway component: hardware, sensors and MQTT wired together (``start``/``stop``).

Threads: paho's network loop (never blocked: it only parses and hands work over), the
actuator worker (every relay action, in order), the sampler worker (sensors, host stats,
periodic republish) and the pin backend's edge-callback thread.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Final

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from factory_core.contract import (
    CommandResult,
    ContractError,
    ContractModel,
    DeviceInfo,
    DeviceState,
    GatewayMeta,
    RebirthTopic,
    RelayInfo,
    RelaySetTopic,
    RelayState,
    SystemStats,
)
from factory_core.mqtt import Will, make_client
from factory_core.ratelimited_log import RateLimitedLog
from gateway.actuation import IncomingCommand, Outbound, RelayController
from gateway.command_log import CommandLog
from gateway.config import GatewayConfig
from gateway.deadband import Deadband
from gateway.discovery import (
    DiscoveryMessage,
    discovery_filter,
    discovery_messages,
    removals,
    status_topic,
)
from gateway.hardware.base import HardwareError, PinBackend
from gateway.inputs import DigitalInput
from gateway.metrics import GatewayMetrics
from gateway.relays import Relay
from gateway.sdnotify import Notifier
from gateway.sensors import Sensor
from gateway.sensors.cpu_temp import CpuTemperature
from gateway.sensors.factory import make_sensor
from gateway.system_stats import HostStats
from gateway.worker import Worker

log = logging.getLogger(__name__)


def gateway_version() -> str:
    try:
        return version("factory-iot")
    except PackageNotFoundError:
        return "0.0.0+unknown"


_KINDS: Final[dict[type, str]] = {
    DeviceState: "device_state",
    RelayState: "relay_state",
    CommandResult: "result",
    SystemStats: "system",
}


class Publisher:
    """Stamps ``seq`` in wire order and drops telemetry while offline (republished later)."""

    def __init__(self, client: paho.Client, metrics: GatewayMetrics) -> None:
        self.client = client
        self.metrics = metrics
        self.connected = False
        self._seq = 0
        self._lock = threading.Lock()

    def send(self, out: Outbound, force: bool = False) -> paho.MQTTMessageInfo | None:
        with self._lock:
            if not (self.connected or force):
                return None
            payload: ContractModel | bytes = out.payload
            if isinstance(payload, DeviceState | RelayState):
                payload = payload.model_copy(update={"seq": self._seq})
                self._seq += 1
            data = payload if isinstance(payload, bytes) else payload.to_bytes()
            props = None
            if out.correlation is not None:
                props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                props.CorrelationData = out.correlation
            try:
                info = self.client.publish(
                    out.topic, data, qos=out.qos, retain=out.retain, properties=props
                )
            except ValueError as exc:  # e.g. a response topic with wildcards
                log.warning("cannot publish on %r: %s", out.topic, exc)
                return None
        kind = out.kind or _KINDS.get(type(out.payload), "other")
        self.metrics.messages_published.labels(kind).inc()
        return info


@dataclass
class _Channel:
    """The last state of one device (sensor or input) and its publish policy."""

    topic: str
    unit: str | None
    deadband: Deadband
    precision: int = 2
    state: DeviceState | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Gateway:
    def __init__(
        self,
        config: GatewayConfig,
        backend: PinBackend,
        *,
        sensors: dict[str, Sensor] | None = None,
        host_stats: HostStats | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        """``start()`` starts it; OSError from there if the metrics port is taken."""
        self.config = config
        self.backend = backend
        self.topics = config.topics
        self.gw = config.gateway_id
        self.notifier = notifier or Notifier({})
        self.sensors = (
            sensors if sensors is not None else {s.id: make_sensor(s) for s in config.sensors}
        )
        self.host_stats = host_stats
        self.actuator = Worker(f"{self.gw}-actuator")
        self.sampler = Worker(f"{self.gw}-sampler")
        self.dropped = RateLimitedLog(log)
        self.inputs = [DigitalInput(c, backend, self._on_input) for c in config.inputs]
        self.channels: dict[str, _Channel] = {}
        for s in config.sensors:
            self.channels[s.id] = self._channel(s.id, s.unit, s.deadband, s.precision)
        for i in config.inputs:
            self.channels[i.id] = self._channel(i.id, None, 0.0, 0)
        self.last_stats: SystemStats | None = None

        self.client = make_client(
            config.broker,
            client_id=f"factory-gateway-{self.gw}",
            on_connect=self._on_connect,
            on_message=self._on_message,
            on_disconnect=self._on_disconnect,
            will=Will(self.topics.status(self.gw), b"offline"),
        )
        self.metrics = GatewayMetrics(self.gw)
        self.publisher = Publisher(self.client, self.metrics)
        self.controller = RelayController(
            self.gw,
            self.topics,
            [Relay(c, backend) for c in config.relays],
            CommandLog(config.state_dir / f"{self.gw}-commands.log"),
            send=self._send,
            schedule=self.actuator.call_later,
            clock_skew_s=config.clock_skew_s,
            observe=self._observe_command,
        )
        self._link_lock = threading.Lock()
        self._link_epoch = 0
        self._link_down_since = time.monotonic()
        self._link_loss_applied: list[str] = []
        self._republish_pending = threading.Event()
        ha = config.home_assistant
        self._ha_status_topic = status_topic(ha.discovery_prefix)
        self._ha_filter = discovery_filter(ha.discovery_prefix, self.gw)
        self._ha_lock = threading.Lock()
        self._ha_seen: set[str] | None = None  # retained configs seen; None = not collecting
        self._ha_round = 0
        self._discovery_pending = threading.Event()
        self._stopping = False
        self._started = False

    def _watchdog(self) -> None:
        self.notifier.notify("WATCHDOG=1")

    def _channel(self, dev: str, unit: str | None, deadband: float, precision: int) -> _Channel:
        period = self.config.republish_interval_s
        return _Channel(
            self.topics.device_state(self.gw, dev), unit, Deadband(deadband, period), precision
        )

    def _send(self, out: Outbound) -> None:
        self.publisher.send(out)

    # ------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Safe states first, then inputs and samplers, then the broker (retried forever)."""
        if self.config.metrics_port:
            self.metrics.serve(self.config.metrics_port, self.config.metrics_host)
        self.controller.boot()
        for digital_input in self.inputs:
            digital_input.setup()
        if self.host_stats is None:
            self.host_stats = HostStats(CpuTemperature())
        self.actuator.start()
        self.sampler.start()
        for s in self.config.sensors:
            self.sampler.call_every(s.interval_s, functools.partial(self._sample, s.id))
        self.sampler.call_every(self.config.system_interval_s, self._publish_stats)
        self.sampler.call_every(
            self.config.republish_interval_s,
            self._periodic_republish,
            first_delay_s=self.config.republish_interval_s,
        )
        if self.notifier.watchdog_interval_s:
            half = self.notifier.watchdog_interval_s / 2
            self.actuator.call_every(half, self._watchdog, first_delay_s=half)
        self._schedule_link_check(self._link_epoch, self._link_down_since)
        broker = self.config.broker
        self.client.connect_async(broker.host, broker.port, keepalive=self.config.mqtt_keepalive)
        self.client.loop_start()
        self._started = True
        self.notifier.notify("READY=1", f"STATUS=gateway {self.gw} running")
        log.info("gateway %s started (backend %s, broker %s)", self.gw, self.backend.name, broker)

    def stop(self) -> None:
        """Relays to their shutdown state, ``offline`` published, a clean disconnect."""
        if self._stopping:
            return
        self._stopping = True
        self.notifier.notify("STOPPING=1")
        if self._started:
            self.sampler.stop()
            self.actuator.run_sync(self.controller.shutdown)
            self.actuator.stop()
            if self.publisher.connected:
                info = self.publisher.send(
                    Outbound(self.topics.status(self.gw), b"offline", retain=True, kind="status"),
                    force=True,
                )
                if info is not None:
                    try:
                        info.wait_for_publish(2)
                    except (RuntimeError, ValueError) as exc:
                        log.warning("could not publish offline: %s", exc)
            self.client.disconnect()
            self.client.loop_stop()
        held = [
            r.config.pin for r in self.controller.relays.values() if r.config.on_shutdown == "hold"
        ]
        self.backend.close(keep=held)
        self.metrics.stop()
        log.info("gateway %s stopped", self.gw)

    # ------------------------------------------------------------ MQTT events

    def _on_connect(self, client: paho.Client) -> None:
        with self._link_lock:
            self._link_epoch += 1
            down_for = time.monotonic() - self._link_down_since
            moved, self._link_loss_applied = self._link_loss_applied, []
            self.publisher.connected = True
        self.metrics.mqtt_connected.set(1)
        subscriptions = [
            (self.topics.command_filter(self.gw), SubscribeOptions(qos=1, retainAsPublished=True)),
            (self.topics.rebirth(), SubscribeOptions(qos=1)),
        ]
        if self.config.home_assistant.enabled:
            self._start_collecting_discovery()
            subscriptions += [
                (self._ha_status_topic, SubscribeOptions(qos=1)),
                # noLocal: what we publish there ourselves is not what Home Assistant has.
                (self._ha_filter, SubscribeOptions(qos=1, noLocal=True)),
            ]
        client.subscribe(subscriptions)
        self.publisher.send(
            Outbound(self.topics.status(self.gw), b"online", retain=True, kind="status")
        )
        if moved:
            log.warning(
                "control link back after %.1f s; relays driven to safe state meanwhile: %s",
                down_for,
                ", ".join(moved),
            )
        self._request_republish()
        if self.config.home_assistant.enabled:
            self._request_discovery()

    def _on_disconnect(self, _client: paho.Client, reason: ReasonCode) -> None:
        with self._link_lock:
            if not self.publisher.connected:
                return  # a failed reconnect attempt: the link has been down since earlier
            self.publisher.connected = False
            self._link_epoch += 1
            self._link_down_since = time.monotonic()
            epoch, since = self._link_epoch, self._link_down_since
        self.metrics.mqtt_connected.set(0)
        if not self._stopping:
            self.metrics.link_losses.inc()
            log.warning("control link lost (%s)", reason)
            self._schedule_link_check(epoch, since)

    def _schedule_link_check(self, epoch: int, since: float) -> None:
        def check() -> None:
            with self._link_lock:
                if epoch != self._link_epoch or self.publisher.connected or self._stopping:
                    return
            self.metrics.link_loss_timeouts.inc()
            moved = self.controller.link_lost(time.monotonic() - since)
            with self._link_lock:
                self._link_loss_applied.extend(moved)

        self.actuator.call_at(since + self.config.link_loss_timeout_s, check)

    def _on_message(self, msg: paho.MQTTMessage) -> None:
        if self.config.home_assistant.enabled and self._on_home_assistant(msg):
            return
        try:
            parsed = self.topics.parse(msg.topic)
        except ContractError as exc:
            self.dropped.warning("topic", "dropped a message: %s", exc)
            return
        if isinstance(parsed, RebirthTopic):
            self._request_republish()
            return
        if not isinstance(parsed, RelaySetTopic) or parsed.gateway != self.gw:
            self.dropped.warning("unexpected", "dropped a message on %r: not for us", msg.topic)
            return
        if msg.retain:
            self.dropped.warning(
                "retained",
                "ignored a retained command on %r: commands must not be retained",
                msg.topic,
            )
            return
        if self._stopping:
            return
        props = getattr(msg, "properties", None)
        expiry = getattr(props, "MessageExpiryInterval", None)
        response_topic = getattr(props, "ResponseTopic", None)
        correlation = getattr(props, "CorrelationData", None)
        incoming = IncomingCommand(
            topic=msg.topic,
            relay_id=parsed.relay,
            payload=bytes(msg.payload),
            mqtt_expires_at=time.monotonic() + expiry if isinstance(expiry, int) else None,
            response_topic=response_topic if isinstance(response_topic, str) else None,
            correlation=bytes(correlation) if isinstance(correlation, bytes | bytearray) else None,
            received_at=time.monotonic(),
        )
        self.actuator.call_soon(lambda: self.controller.handle(incoming))

    def _observe_command(self, outcome: str, seconds: float | None) -> None:
        self.metrics.commands.labels(outcome).inc()
        if seconds is not None:
            self.metrics.command_latency.observe(seconds)

    # ---------------------------------------------------- Home Assistant discovery

    def _on_home_assistant(self, msg: paho.MQTTMessage) -> bool:
        """Handle Home Assistant's birth and our retained discovery configs; False if neither."""
        if msg.topic == self._ha_status_topic:
            if bytes(msg.payload).strip() == b"online":
                log.info("Home Assistant is online: republishing discovery")
                self._request_discovery()
            return True
        if not paho.topic_matches_sub(self._ha_filter, msg.topic):
            return False
        if msg.retain and msg.payload:
            with self._ha_lock:
                if self._ha_seen is not None:
                    self._ha_seen.add(msg.topic)
        return True

    def _start_collecting_discovery(self) -> None:
        """Collect the configs the broker retains for us, then clear those we no longer have.

        Retained messages follow the SUBACK at once; a short window catches them all.
        """
        with self._ha_lock:
            self._ha_seen = set()
            self._ha_round += 1
            this_round = self._ha_round

        def clear_departed() -> None:
            with self._ha_lock:
                if this_round != self._ha_round or self._ha_seen is None:
                    return  # a reconnect started a new round
                seen, self._ha_seen = self._ha_seen, None
            current = self._discovery()
            for gone in removals(seen, current):
                log.info("Home Assistant: removing %s (no longer in the config)", gone.topic)
                self._send(Outbound(gone.topic, gone.payload, retain=True, kind="discovery"))

        self.actuator.call_later(self.config.home_assistant.removal_window_s, clear_departed)

    def _discovery(self) -> list[DiscoveryMessage]:
        prefix = self.config.home_assistant.discovery_prefix
        return discovery_messages(self.topics, self.gw, self.meta(), prefix)

    def _request_discovery(self) -> None:
        if not self._discovery_pending.is_set():
            self._discovery_pending.set()
            self.actuator.call_soon(self._publish_discovery)

    def _publish_discovery(self) -> None:
        self._discovery_pending.clear()
        for message in self._discovery():
            self._send(Outbound(message.topic, message.payload, retain=True, kind="discovery"))

    # ------------------------------------------------------------- publishing

    def meta(self) -> GatewayMeta:
        devices = [
            DeviceInfo(id=s.id, name=s.name, kind=s.kind, unit=s.unit) for s in self.config.sensors
        ] + [DeviceInfo(id=i.id, name=i.name, kind=i.kind) for i in self.config.inputs]
        relays = [
            RelayInfo(id=r.id, name=r.name, safe_state=r.safe_state) for r in self.config.relays
        ]
        return GatewayMeta(
            version=gateway_version(),
            name=self.config.name,
            devices=devices,
            relays=relays,
            stats_interval_s=self.config.system_interval_s,
        )

    def _request_republish(self) -> None:
        # Several rebirth requests in a burst cost one republish.
        if not self._republish_pending.is_set():
            self._republish_pending.set()
            self.actuator.call_soon(self._republish_all)

    def _republish_all(self) -> None:
        self._republish_pending.clear()
        meta = self.meta().to_bytes()
        self._send(Outbound(self.topics.meta(self.gw), meta, retain=True, kind="meta"))
        self.controller.publish_states()
        for digital_input in self.inputs:
            self._read_input(digital_input, force=True)
        for dev, channel in self.channels.items():
            if dev in self.sensors and channel.state is not None:
                self._send(Outbound(channel.topic, channel.state, retain=True))
        if self.last_stats is not None:
            self._send(Outbound(self.topics.system(self.gw), self.last_stats, qos=0, retain=True))

    def _periodic_republish(self) -> None:
        self.actuator.call_soon(self.controller.publish_states)
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
                self._send(Outbound(channel.topic, state, retain=True))

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
        self._send(Outbound(self.topics.system(self.gw), self.last_stats, qos=0, retain=True))
