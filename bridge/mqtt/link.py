"""The bridge's MQTT connections (I/O edge): subscribe to the plant, publish commands.

Two connections to the broker, each read by its own greenlet on the gevent hub, so handlers
run on the same hub as Socket.IO and may emit without crossing OS threads:

* control (MQTT 5): gateway status and meta, relay states and command results, the late
  samples a gateway kept through an outage (QoS 1: each batch counts, it is superseded by
  nothing), and the commands, which carry an MQTT 5 message expiry;
* samples (MQTT 3.1.1, QoS 0): device and system states, nearly all of the traffic. paho
  takes ~20 µs longer to parse an MQTT 5 PUBLISH than a 3.1.1 one (a plain subscriber at
  15,000 msg/s: 45 vs 25 µs a message) and samples carry no properties the bridge needs. On
  their own connection they also never queue ahead of a command's result.

The two fail together: when one drops, the other is dropped too, so that both subscribe
afresh and the retained state comes back whole.

The broker binds client ids to usernames (docs/broker.md, "Client ids"), so the samples
connection logs in as its own user, ``<user>-samples`` (same password), which
``factory-broker render`` creates for every bridge.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import socket
import ssl
from collections.abc import Callable

import gevent
import paho.mqtt.client as paho
from gevent.socket import wait_read
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from factory_core.alarms import Condition
from factory_core.broker_admin import samples_login
from factory_core.command_expiry import message_expiry_interval
from factory_core.contract import (
    AlarmCommand,
    AllToSafeCommand,
    ContractError,
    ContractModel,
    GatewayAlarmAck,
    LockCommand,
    Message,
    OutOfService,
    RelayCommand,
    TopicError,
    Topics,
    decode,
)
from factory_core.mqtt import make_client
from factory_core.ratelimited_log import RateLimitedLog
from factory_core.settings import BrokerAddress

log = logging.getLogger(__name__)

MessageSink = Callable[[list[Message]], None]


RECONNECT_MIN_S = 1.0
RECONNECT_MAX_S = 5.0
MAX_PACKETS_PER_WAKEUP = 2000
# Messages are handed over in batches of at most this many: metrics, the store hand-off and
# the flusher's wake-up are paid per batch.
BATCH = 100
# Samples are superseded by the next one and retained. At QoS 0 the broker sends them without
# waiting for a PUBACK per message (13 % of the bridge's CPU at 8,000 msg/s); the session ends
# with the connection, so QoS 1 would redeliver nothing after a reconnect either.
SAMPLE_QOS = 0


class MqttLink:
    def __init__(
        self,
        broker: BrokerAddress,
        topics: Topics,
        client_id: str,
        clock: Callable[[], float],
        keepalive: int = 10,
        on_dropped: Callable[[str], None] = lambda _reason: None,
        on_lost: Callable[[], None] = lambda: None,
    ) -> None:
        self.broker = broker
        self.topics = topics
        self.client_id = client_id
        self.on_dropped = on_dropped
        self.on_lost = on_lost
        self._sinks: list[MessageSink] = []
        self._drop_log = RateLimitedLog(log, clock=clock)
        self.running = False
        self._lost = False  # on_lost was called and not all connections are back yet
        samples = topics.sample_filters()
        control = [f for f in topics.telemetry_filters() if f not in samples]
        self._control = _Connection(
            self,
            broker,
            client_id,
            MQTTProtocolVersion.MQTTv5,
            [(f, 1) for f in control],
            keepalive,
        )
        samples_broker = (
            dataclasses.replace(broker, username=samples_login(broker.username))
            if broker.username
            else broker
        )
        self._samples = _Connection(
            self,
            samples_broker,
            f"{client_id}-samples",
            MQTTProtocolVersion.MQTTv311,
            [(f, SAMPLE_QOS) for f in samples],
            keepalive,
        )
        self._connections = (self._control, self._samples)

    @property
    def connected(self) -> bool:
        return all(c.connected for c in self._connections)

    def subscribe(self, sink: MessageSink) -> None:
        self._sinks.append(sink)

    def start(self) -> None:
        self.running = True
        for connection in self._connections:
            connection.start()

    def stop(self) -> None:
        self.running = False
        for connection in self._connections:
            connection.stop()

    def publish_command(self, gateway: str, relay: str, command: RelayCommand, ttl: float) -> bool:
        return self._publish_command(self.topics.relay_set(gateway, relay), command, ttl)

    def publish_lock(self, gateway: str, relay: str, command: LockCommand, ttl: float) -> bool:
        return self._publish_command(self.topics.relay_lock(gateway, relay), command, ttl)

    def publish_all_to_safe(self, gateway: str, command: AllToSafeCommand, ttl: float) -> bool:
        return self._publish_command(self.topics.all_to_safe(gateway), command, ttl)

    def _publish_command(self, topic: str, command: ContractModel, ttl: float) -> bool:
        client = self._control.client
        if client is None or not self.connected:
            return False
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.MessageExpiryInterval = message_expiry_interval(ttl)
        info = client.publish(topic, command.to_bytes(), qos=1, properties=props)
        return info.rc == paho.MQTT_ERR_SUCCESS

    def publish_alarm_command(
        self, gateway: str, source: str, condition: Condition, command: AlarmCommand, ttl: float
    ) -> bool:
        topic = self.topics.alarm_set(gateway, source, condition)
        return self._publish_command(topic, command, ttl)

    def publish_gateway_ack(self, gateway: str, condition: Condition, ack: GatewayAlarmAck) -> bool:
        """The shared acknowledgement of a gateway's own alarm: retained, read by every bridge."""
        client = self._control.client
        if client is None or not self.connected:
            return False
        topic = self.topics.gateway_alarm_ack(gateway, condition)
        info = client.publish(topic, ack.to_bytes(), qos=1, retain=True)
        return info.rc == paho.MQTT_ERR_SUCCESS

    def publish_service(self, gateway: str, device: str, state: OutOfService | None) -> bool:
        """A device out of service (retained), or back in service (the record removed)."""
        client = self._control.client
        if client is None or not self.connected:
            return False
        payload = b"" if state is None else state.to_bytes()
        info = client.publish(self.topics.service(gateway, device), payload, qos=1, retain=True)
        return info.rc == paho.MQTT_ERR_SUCCESS

    def publish_rebirth(self) -> bool:
        """Ask every gateway to republish its meta and full state (an edge link is back)."""
        client = self._control.client
        if client is None or not self.connected:
            return False
        return client.publish(self.topics.rebirth(), b"", qos=1).rc == paho.MQTT_ERR_SUCCESS

    # Called by the connections ----------------------------------------------

    def _subscribed(self, connection: _Connection, client: paho.Client) -> None:
        if connection is self._control:
            # After subscribing, so that the full state every gateway republishes reaches us.
            client.publish(self.topics.rebirth(), b"", qos=1)
        if self.connected:
            self._lost = False

    def _dropped(self, connection: _Connection) -> None:
        if not self.running:
            return
        if not self._lost:
            self._lost = True
            self.on_lost()
        for other in self._connections:
            if other is not connection and other.connected:
                other.drop()

    def _decode(self, msg: paho.MQTTMessage) -> Message | None:
        try:
            return decode(self.topics, msg.topic, bytes(msg.payload))
        except ContractError as exc:
            reason = "topic" if isinstance(exc, TopicError) else "payload"
            self.on_dropped(reason)
            self._drop_log.warning(reason, "dropped a message: %s", exc)
            return None

    def _hand_over(self, batch: list[Message]) -> None:
        for sink in self._sinks:
            try:
                sink(batch)
            except Exception:
                log.exception("handling %d MQTT messages failed", len(batch))


class _Connection:
    """One paho client, driven by its own greenlet."""

    def __init__(
        self,
        link: MqttLink,
        broker: BrokerAddress,
        client_id: str,
        protocol: MQTTProtocolVersion,
        subscriptions: list[tuple[str, int]],
        keepalive: int,
    ) -> None:
        self.link = link
        self.broker = broker
        self.client_id = client_id
        self.protocol = protocol
        self.subscriptions = subscriptions
        self.keepalive = keepalive
        self.connected = False
        self.client: paho.Client | None = None
        self._driver: gevent.Greenlet | None = None
        self._batch: list[Message] = []
        self._received = 0

    def start(self) -> None:
        broker = self.broker
        client = make_client(
            broker,
            self.client_id,
            on_connect=self._on_connect,
            on_message=self._on_message,
            on_disconnect=self._on_disconnect,
            protocol=self.protocol,
        )
        self.client = client
        client.connect_async(broker.host, broker.port, keepalive=self.keepalive)
        self._driver = gevent.spawn(self._drive, client)

    def stop(self) -> None:
        client = self.client
        if client is not None:
            client.disconnect()
        if self._driver is not None:
            self._driver.join(timeout=2)
            self._driver.kill()
        self.client = None
        self.connected = False

    def drop(self) -> None:
        """Close the connection; the driver connects again and subscribes afresh."""
        if self.client is not None:
            self.client.disconnect()

    # Why not paho's loop_start: its loop reads one packet per select(), and under gevent
    # every select() waits its turn behind the flusher and each client's writer greenlet,
    # so the bridge read fewer messages the more clients it had (bench: 95 msg/s next to
    # 100 busy greenlets). This greenlet drains all that is buffered on each wake-up.
    def _drive(self, client: paho.Client) -> None:
        delay = RECONNECT_MIN_S
        while self.link.running:
            sock = client.socket()
            if not isinstance(sock, socket.socket):
                try:
                    client.reconnect()
                    delay = RECONNECT_MIN_S
                except OSError as exc:
                    log.warning(
                        "MQTT broker %s unreachable: %s; retry in %g s",
                        self.broker,
                        exc,
                        delay,
                    )
                    gevent.sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            with contextlib.suppress(TimeoutError):
                wait_read(sock.fileno(), timeout=1.0)
            self._drain(client, sock)
            if client.socket() is sock and client.want_write():
                client.loop_write()
            client.loop_misc()

    def _drain(self, client: paho.Client, sock: socket.socket) -> None:
        """Read the packets already buffered (bounded: the pushes get their turn).

        A read that delivered no message ends it: the socket was empty (paho reports that
        as success too) or the packet was not a PUBLISH, and then the next wait_read
        returns at once — unless TLS holds decrypted bytes the socket no longer shows.
        This saves a peek per message.
        """
        tls = sock if isinstance(sock, ssl.SSLSocket) else None
        for _ in range(MAX_PACKETS_PER_WAKEUP):
            before = self._received
            if client.loop_read() != paho.MQTT_ERR_SUCCESS:
                break
            if self._received == before and not (tls is not None and tls.pending() > 0):
                break
            if len(self._batch) >= BATCH:
                # No yield to the flusher here: one per batch of 100 made every client's pushes
                # 4x as many at 10,000 msg/s and pushes fell seconds behind (docs/benchmarks.md,
                # session of 2026-12-01). A result may wait behind one wake-up's samples.
                self._hand_over()
        self._hand_over()

    def _hand_over(self) -> None:
        batch, self._batch = self._batch, []
        if batch:
            self.link._hand_over(batch)

    def _on_connect(self, client: paho.Client) -> None:
        client.subscribe(self.subscriptions)
        self.connected = True
        self.link._subscribed(self, client)

    def _on_disconnect(self, _client: paho.Client, _reason: ReasonCode) -> None:
        was_connected, self.connected = self.connected, False
        if was_connected:
            self.link._dropped(self)

    def _on_message(self, msg: paho.MQTTMessage) -> None:
        self._received += 1
        message = self.link._decode(msg)
        if message is not None:
            self._batch.append(message)
