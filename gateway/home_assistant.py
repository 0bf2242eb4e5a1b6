"""Home Assistant MQTT discovery as a component (payloads: :mod:`gateway.discovery`).

After each connect, and whenever Home Assistant announces ``online`` on its status topic,
the gateway (re)publishes one retained config per entity. It also reads back the configs the
broker retains for it and clears those of entities that left its config.
"""

from __future__ import annotations

import logging
import threading

import paho.mqtt.client as paho
from paho.mqtt.subscribeoptions import SubscribeOptions

from factory_core.contract import GatewayMeta
from gateway.actuation import Outbound
from gateway.config import GatewayConfig
from gateway.discovery import (
    DiscoveryMessage,
    discovery_filter,
    discovery_messages,
    removals,
    status_topic,
)
from gateway.mqtt_link import MqttLink
from gateway.worker import Handle, Worker

log = logging.getLogger(__name__)


class HomeAssistantDiscovery:
    def __init__(
        self, config: GatewayConfig, meta: GatewayMeta, link: MqttLink, actuator: Worker
    ) -> None:
        ha = config.home_assistant
        self.prefix = ha.discovery_prefix
        self.removal_window_s = ha.removal_window_s
        self.gw = config.gateway_id
        self.topics = config.topics
        self.meta = meta
        self.link = link
        self.actuator = actuator
        self.status_topic = status_topic(self.prefix)
        self.filter = discovery_filter(self.prefix, self.gw)
        self._lock = threading.Lock()
        self._seen: set[str] | None = None  # retained configs seen; None = not collecting
        self._round = 0
        self._removal: Handle | None = None
        self._pending = threading.Event()
        link.route(self.status_topic, SubscribeOptions(qos=1), self._on_ha_status)
        # noLocal: what we publish there ourselves is not what Home Assistant has.
        link.route(self.filter, SubscribeOptions(qos=1, noLocal=True), self._on_config)
        link.on_up(self._link_up)

    def start(self) -> None:
        """Nothing to bring up before the link: it announces on each connect."""

    def stop(self) -> None:
        with self._lock:
            removal, self._removal = self._removal, None
        if removal is not None:
            removal.cancel()

    def messages(self) -> list[DiscoveryMessage]:
        return discovery_messages(self.topics, self.gw, self.meta, self.prefix)

    def _link_up(self) -> None:
        # Retained configs follow the SUBACK; they are handled on this (paho's) thread after
        # this callback, so collection has started before the first of them.
        self._start_collecting()
        self._request()

    def _on_ha_status(self, msg: paho.MQTTMessage) -> None:
        if bytes(msg.payload).strip() == b"online":
            log.info("Home Assistant is online: republishing discovery")
            self._request()

    def _on_config(self, msg: paho.MQTTMessage) -> None:
        if msg.retain and msg.payload:
            with self._lock:
                if self._seen is not None:
                    self._seen.add(msg.topic)

    def _start_collecting(self) -> None:
        """Collect the configs the broker retains for us, then clear those we no longer have.

        Retained messages follow the SUBACK at once; a short window catches them all.
        """
        with self._lock:
            self._seen = set()
            self._round += 1
            this_round = self._round

        def clear_departed() -> None:
            with self._lock:
                if this_round != self._round or self._seen is None:
                    return  # a reconnect started a new round
                seen, self._seen = self._seen, None
            for gone in removals(seen, self.messages()):
                log.info("Home Assistant: removing %s (no longer in the config)", gone.topic)
                self.link.send(Outbound(gone.topic, gone.payload, retain=True, kind="discovery"))

        handle = self.actuator.call_later(self.removal_window_s, clear_departed)
        with self._lock:
            self._removal = handle

    def _request(self) -> None:
        if not self._pending.is_set():
            self._pending.set()
            self.actuator.call_soon(self._publish)

    def _publish(self) -> None:
        self._pending.clear()
        for message in self.messages():
            self.link.send(Outbound(message.topic, message.payload, retain=True, kind="discovery"))
