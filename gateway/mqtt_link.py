"""The gateway's MQTT link: one client, its routes, link up/down listeners, ordered publishing.

Components register here what they subscribe to (a filter, its options, a handler) and what
they want to hear about the link; the link subscribes to all routes in one request on every
(re)connect. Handlers run on paho's network thread and must only hand work over.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from factory_core.contract import (
    CommandResult,
    ContractModel,
    DeviceState,
    RelayState,
    SystemStats,
    Topics,
)
from factory_core.mqtt import Will, make_client
from factory_core.ratelimited_log import RateLimitedLog
from factory_core.settings import BrokerAddress
from gateway.actuation import Outbound
from gateway.metrics import GatewayMetrics

log = logging.getLogger(__name__)

_KINDS: Final[dict[type, str]] = {
    DeviceState: "device_state",
    RelayState: "relay_state",
    CommandResult: "result",
    SystemStats: "system",
}

MessageHandler = Callable[[paho.MQTTMessage], None]
LinkUp = Callable[[], None]
LinkDown = Callable[[ReasonCode], None]


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


@dataclass(frozen=True, slots=True)
class Route:
    filter: str
    options: SubscribeOptions
    handler: MessageHandler


class MqttLink:
    """``connect()`` after the components started; ``close()`` after they stopped."""

    def __init__(
        self,
        broker: BrokerAddress,
        gateway_id: str,
        topics: Topics,
        metrics: GatewayMetrics,
        keepalive_s: int,
    ) -> None:
        self.broker = broker
        self.keepalive_s = keepalive_s
        self.metrics = metrics
        self.dropped = RateLimitedLog(log)
        self._status_topic = topics.status(gateway_id)
        self.client = make_client(
            broker,
            client_id=f"factory-gateway-{gateway_id}",
            on_connect=self._on_connect,
            on_message=self._on_message,
            on_disconnect=self._on_disconnect,
            will=Will(self._status_topic, b"offline"),
        )
        self.publisher = Publisher(self.client, metrics)
        self._routes: list[Route] = []
        self._up: list[LinkUp] = []
        self._down: list[LinkDown] = []
        self._dispatching = True

    # ------------------------------------------------------- what components register

    def route(self, topic_filter: str, options: SubscribeOptions, handler: MessageHandler) -> None:
        """Subscribe to ``topic_filter`` on every connect; its messages go to ``handler``."""
        self._routes.append(Route(topic_filter, options, handler))

    def on_up(self, listener: LinkUp) -> None:
        """Told (in registration order) after each connect: subscribed, ``online`` sent."""
        self._up.append(listener)

    def on_down(self, listener: LinkDown) -> None:
        """Told when an established link is lost (not of failed reconnect attempts)."""
        self._down.append(listener)

    @property
    def connected(self) -> bool:
        return self.publisher.connected

    def send(self, out: Outbound) -> None:
        self.publisher.send(out)

    def publish(self, out: Outbound) -> paho.MQTTMessageInfo | None:
        """Like ``send``, but says what happened: None when the link is down (nothing sent)."""
        return self.publisher.send(out)

    # ----------------------------------------------------------------- lifecycle

    def connect(self) -> None:
        """Connect in the background, retried forever."""
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=self.keepalive_s)
        self.client.loop_start()

    def stop_dispatching(self) -> None:
        """From now on incoming messages are dropped: the gateway is shutting down."""
        self._dispatching = False

    def close(self) -> None:
        """``offline`` published (waited for, briefly), then a clean disconnect."""
        self._dispatching = False
        if self.publisher.connected:
            info = self.publisher.send(
                Outbound(self._status_topic, b"offline", retain=True, kind="status"), force=True
            )
            if info is not None:
                try:
                    info.wait_for_publish(2)
                except (RuntimeError, ValueError) as exc:
                    log.warning("could not publish offline: %s", exc)
        self.client.disconnect()
        self.client.loop_stop()

    # --------------------------------------------------------------- paho events

    def _on_connect(self, client: paho.Client) -> None:
        self.publisher.connected = True
        self.metrics.mqtt_connected.set(1)
        client.subscribe([(r.filter, r.options) for r in self._routes])
        self.publisher.send(Outbound(self._status_topic, b"online", retain=True, kind="status"))
        for listener in self._up:
            listener()

    def _on_disconnect(self, _client: paho.Client, reason: ReasonCode) -> None:
        # Both paho events run on its network thread: no lock needed between them.
        if not self.publisher.connected:
            return  # a failed reconnect attempt: the link has been down since earlier
        self.publisher.connected = False
        self.metrics.mqtt_connected.set(0)
        for listener in self._down:
            listener(reason)

    def _on_message(self, msg: paho.MQTTMessage) -> None:
        if not self._dispatching:
            return
        for route in self._routes:
            if paho.topic_matches_sub(route.filter, msg.topic):
                route.handler(msg)
                return
        self.dropped.warning("unexpected", "dropped a message on %r: not for us", msg.topic)
