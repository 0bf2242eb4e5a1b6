"""The bridge's MQTT connection (I/O edge): subscribe to the plant, publish commands.

Under gevent's monkey-patching paho's network thread is a greenlet, so handlers run on the
same hub as Socket.IO and may emit without crossing OS threads.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from factory_core.contract import ContractError, Message, RelayCommand, TopicError, Topics, decode
from factory_core.mqtt import make_client
from factory_core.ratelimited_log import RateLimitedLog
from factory_core.settings import BrokerAddress

log = logging.getLogger(__name__)

MessageSink = Callable[[Message], None]


class MqttLink:
    def __init__(
        self,
        broker: BrokerAddress,
        topics: Topics,
        client_id: str,
        clock: Callable[[], float],
        keepalive: int = 10,
        on_dropped: Callable[[str], None] = lambda _reason: None,
        on_raw: Callable[[], None] = lambda: None,
        on_lost: Callable[[], None] = lambda: None,
    ) -> None:
        self.broker = broker
        self.topics = topics
        self.client_id = client_id
        self.keepalive = keepalive
        self.connected = False
        self.on_dropped = on_dropped
        self.on_raw = on_raw
        self.on_lost = on_lost
        self._sinks: list[MessageSink] = []
        self._drop_log = RateLimitedLog(log, clock=clock)
        self._client: paho.Client | None = None

    def subscribe(self, sink: MessageSink) -> None:
        self._sinks.append(sink)

    def start(self) -> None:
        client = make_client(
            self.broker,
            self.client_id,
            on_connect=self._on_connect,
            on_message=self._on_message,
            on_disconnect=self._on_disconnect,
        )
        self._client = client
        client.connect_async(self.broker.host, self.broker.port, keepalive=self.keepalive)
        client.loop_start()

    def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        self.connected = False

    def publish_command(self, gateway: str, relay: str, command: RelayCommand, ttl: float) -> bool:
        client = self._client
        if client is None or not self.connected:
            return False
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        # Whole seconds on the wire; rounding up keeps the deadline in the payload decisive.
        props.MessageExpiryInterval = max(1, math.ceil(ttl))
        info = client.publish(
            self.topics.relay_set(gateway, relay), command.to_bytes(), qos=1, properties=props
        )
        return info.rc == paho.MQTT_ERR_SUCCESS

    def _on_connect(self, client: paho.Client) -> None:
        client.subscribe([(f, 1) for f in self.topics.telemetry_filters()])
        # After subscribing, so that the full state every gateway republishes reaches us.
        client.publish(self.topics.rebirth(), b"", qos=1)
        self.connected = True

    def _on_disconnect(self, _client: paho.Client, _reason: ReasonCode) -> None:
        was_connected, self.connected = self.connected, False
        if was_connected and self._client is not None:  # not on our own stop()
            self.on_lost()

    def _on_message(self, msg: paho.MQTTMessage) -> None:
        self.on_raw()
        try:
            message = decode(self.topics, msg.topic, bytes(msg.payload))
        except ContractError as exc:
            reason = "topic" if isinstance(exc, TopicError) else "payload"
            self.on_dropped(reason)
            self._drop_log.warning(reason, "dropped a message: %s", exc)
            return
        for sink in self._sinks:
            try:
                sink(message)
            except Exception:
                log.exception("handling %s failed", msg.topic)
