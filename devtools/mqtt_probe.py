"""A plain MQTT subscriber/publisher for tests: what `mosquitto_sub` would see."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from factory_core.mqtt import set_nodelay
from factory_core.settings import parse_mqtt_url


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int
    at: float
    properties: Properties | None = None

    @property
    def text(self) -> str:
        return self.payload.decode(errors="replace")


class MqttProbe:
    """Subscribes to ``filters`` and records every message; thread-safe waits."""

    def __init__(self, url: str, filters: list[str] | None = None, client_id: str = "") -> None:
        address = parse_mqtt_url(url)
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"probe-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if address.username:
            self.client.username_pw_set(address.username, address.password)
        self.address = address
        self.filters = filters or ["#"]
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self._unacked: set[int] = set()  # SUBSCRIBE packet ids the broker has not answered
        self._subscribed = threading.Event()
        self._refused: str | None = None  # the broker's reason when it refused the connection
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _on_connect(
        self, c: paho.Client, _u: object, _f: object, rc: ReasonCode, _p: object
    ) -> None:
        if rc.is_failure:
            self._refused = str(rc)
            self._subscribed.set()  # wake start(), which reports it
            return
        set_nodelay(c)
        with self._cond:
            for f in self.filters:
                _result, mid = c.subscribe(f, qos=1)
                if mid is not None:
                    self._unacked.add(mid)
            if not self._unacked:
                self._subscribed.set()

    def _on_subscribe(self, _c: paho.Client, _u: object, mid: int, _rc: object, _p: object) -> None:
        with self._cond:
            self._unacked.discard(mid)
            if not self._unacked:
                self._subscribed.set()

    def _on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        with self._cond:
            self.messages.append(
                Received(msg.topic, bytes(msg.payload), msg.retain, msg.qos, time.time(), props)
            )
            self._cond.notify_all()

    def start(self) -> MqttProbe:
        self.client.connect(self.address.host, self.address.port, keepalive=10)
        self.client.loop_start()
        # Once the broker has answered every SUBSCRIBE, whatever is published next reaches us
        # (and the retained messages are on their way): no message is missed by starting early.
        if not self._subscribed.wait(15):
            raise TimeoutError(f"probe: no SUBACK for {self.filters} from {self.address}")
        if self._refused is not None:
            self.stop()
            raise ConnectionRefusedError(f"probe: {self.address} refused: {self._refused}")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        qos: int = 1,
        retain: bool = False,
        expiry: int | None = None,
        response_topic: str | None = None,
        correlation: bytes | None = None,
    ) -> None:
        props = None
        if expiry is not None or response_topic is not None:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            if expiry is not None:
                props.MessageExpiryInterval = expiry
            if response_topic is not None:
                props.ResponseTopic = response_topic
            if correlation is not None:
                props.CorrelationData = correlation
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        info.wait_for_publish(5)

    def wait_for(
        self, match: Callable[[Received], bool], timeout: float = 10, what: str = ""
    ) -> Received:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages:
                    if match(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = "\n".join(f"  {m.topic} {m.text[:120]}" for m in self.messages[-20:])
                    raise TimeoutError(f"no message {what} within {timeout} s; last seen:\n{seen}")
                self._cond.wait(left)

    def on_topic(self, topic: str) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if m.topic == topic]

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()

    def __enter__(self) -> MqttProbe:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()
