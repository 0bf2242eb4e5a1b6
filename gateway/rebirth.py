"""Rebirth as a component: everything retained, again, after each connect and on request.

Meta first (it says what the rest is), then each part's current state in the order given.
A burst of requests (a reconnect plus several rebirths) costs one republish.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import paho.mqtt.client as paho
from paho.mqtt.subscribeoptions import SubscribeOptions

from factory_core.contract import GatewayMeta, Topics
from gateway.actuation import Outbound
from gateway.mqtt_link import MqttLink
from gateway.worker import Worker

Republish = Callable[[], None]


class Rebirth:
    def __init__(
        self,
        gateway_id: str,
        topics: Topics,
        meta: GatewayMeta,
        link: MqttLink,
        actuator: Worker,
        parts: Sequence[Republish],
    ) -> None:
        self.meta_topic = topics.meta(gateway_id)
        self.meta = meta.to_bytes()
        self.link = link
        self.actuator = actuator
        self.parts = list(parts)
        self._pending = threading.Event()
        link.route(topics.rebirth(), SubscribeOptions(qos=1), self._on_rebirth)
        link.on_up(self.request)

    def start(self) -> None:
        """Nothing to bring up: it acts on link and rebirth events only."""

    def stop(self) -> None:
        """Nothing to take down: the link stops dispatching before components stop."""

    def request(self) -> None:
        if not self._pending.is_set():
            self._pending.set()
            self.actuator.call_soon(self._republish_all)

    def _on_rebirth(self, _msg: paho.MQTTMessage) -> None:
        self.request()

    def _republish_all(self) -> None:
        self._pending.clear()
        self.link.send(Outbound(self.meta_topic, self.meta, retain=True, kind="meta"))
        for republish in self.parts:
            republish()
