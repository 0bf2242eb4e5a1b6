"""A paho-mqtt client set up the way both services need it (I/O edge).

MQTT 5 (unless asked otherwise), automatic reconnect with backoff, and TCP_NODELAY set on
every (re)connect: without it Nagle's algorithm holds small publishes back for ~40 ms.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from factory_core.settings import BrokerAddress

log = logging.getLogger(__name__)

ConnectHandler = Callable[[paho.Client], None]
MessageHandler = Callable[[paho.MQTTMessage], None]
DisconnectHandler = Callable[[paho.Client, ReasonCode], None]


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


def set_nodelay(client: paho.Client) -> None:
    sock = client.socket()
    # A TLS socket wraps a TCP one; both accept setsockopt.
    if isinstance(sock, socket.socket | ssl.SSLSocket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def make_client(
    broker: BrokerAddress,
    client_id: str,
    *,
    on_connect: ConnectHandler,
    on_message: MessageHandler,
    on_disconnect: DisconnectHandler | None = None,
    will: Will | None = None,
    reconnect_min_delay: float = 1,
    reconnect_max_delay: float = 5,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
) -> paho.Client:
    """A client that is configured but not yet connected (call ``connect_async`` + loop)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(ca_certs=broker.ca_file)
    if will is not None:
        client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
    # An exception in one of our callbacks must cost that message, never paho's network loop
    # (by default paho re-raises it there and the client goes deaf for good).
    client.suppress_exceptions = True
    client.reconnect_delay_set(int(reconnect_min_delay) or 1, int(reconnect_max_delay) or 1)

    def _on_connect(
        c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT connection to %s refused: %s", broker, reason)
            return
        set_nodelay(c)
        log.info("MQTT connected to %s", broker)
        on_connect(c)

    def _on_disconnect(
        c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT connection to %s lost: %s", broker, reason)
        if on_disconnect is not None:
            on_disconnect(c, reason)

    def _on_message(_c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        on_message(msg)

    client.on_connect = _on_connect
    client.on_disconnect = _on_disconnect
    client.on_message = _on_message
    return client
