"""The relays as a component: safe states at start, MQTT commands in, shutdown states at stop.

Every relay action runs on the actuator worker, in order; this module only turns each MQTT
command message into an :class:`IncomingCommand` and hands it over (paho's thread never waits).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.subscribeoptions import SubscribeOptions

from factory_core.command_expiry import expires_at
from factory_core.contract import (
    CommandResult,
    ContractError,
    RelayResultTopic,
    RelaySetTopic,
    Topics,
)
from factory_core.ratelimited_log import RateLimitedLog
from gateway.actuation import IncomingCommand, Outbound, RelayController
from gateway.command_log import CommandLog
from gateway.config import GatewayConfig
from gateway.hardware.base import PinBackend
from gateway.metrics import GatewayMetrics
from gateway.mqtt_link import MqttLink
from gateway.relays import Relay
from gateway.worker import Worker

log = logging.getLogger(__name__)


class RelayControl:
    def __init__(
        self,
        config: GatewayConfig,
        backend: PinBackend,
        link: MqttLink,
        actuator: Worker,
        metrics: GatewayMetrics,
        on_result: Callable[[str, str | None], None] | None = None,
    ) -> None:
        """``on_result(relay, error)`` hears every command's outcome (the alarms)."""
        self.gw = config.gateway_id
        self.link = link
        self.on_result = on_result
        self.topics: Topics = config.topics
        self.actuator = actuator
        self.metrics = metrics
        self.republish_interval_s = config.republish_interval_s
        self.dropped = RateLimitedLog(log)
        self.controller = RelayController(
            self.gw,
            self.topics,
            [Relay(c, backend) for c in config.relays],
            CommandLog(config.state_dir / f"{self.gw}-commands.log"),
            send=self._send,
            schedule=actuator.call_later,
            clock_skew_s=config.clock_skew_s,
            observe=self._observe_command,
        )
        link.route(
            self.topics.command_filter(self.gw),
            SubscribeOptions(qos=1, retainAsPublished=True),
            self._on_command,
        )

    def start(self) -> None:
        self.controller.boot()
        period = self.republish_interval_s
        self.actuator.call_every(period, self.controller.publish_states, first_delay_s=period)

    def stop(self) -> None:
        self.actuator.run_sync(self.controller.shutdown)

    def held_pins(self) -> list[int]:
        """The pins of relays that keep their state over a shutdown (left claimed)."""
        return [
            r.config.pin for r in self.controller.relays.values() if r.config.on_shutdown == "hold"
        ]

    def republish(self) -> None:
        self.controller.publish_states()

    def _on_command(self, msg: paho.MQTTMessage) -> None:
        try:
            parsed = self.topics.parse(msg.topic)
        except ContractError as exc:
            self.dropped.warning("topic", "dropped a message: %s", exc)
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
        props = getattr(msg, "properties", None)
        expiry = getattr(props, "MessageExpiryInterval", None)
        response_topic = getattr(props, "ResponseTopic", None)
        correlation = getattr(props, "CorrelationData", None)
        incoming = IncomingCommand(
            topic=msg.topic,
            relay_id=parsed.relay,
            payload=bytes(msg.payload),
            mqtt_expires_at=expires_at(expiry, time.monotonic()),
            response_topic=response_topic if isinstance(response_topic, str) else None,
            correlation=bytes(correlation) if isinstance(correlation, bytes | bytearray) else None,
            received_at=time.monotonic(),
        )
        self.actuator.call_soon(lambda: self.controller.handle(incoming))

    def _send(self, out: Outbound) -> None:
        self.link.send(out)
        if self.on_result is not None and isinstance(out.payload, CommandResult):
            try:
                topic = self.topics.parse(out.topic)
            except ContractError:
                return  # an answer on a requester's response topic
            if isinstance(topic, RelayResultTopic):
                self.on_result(topic.relay, out.payload.error)

    def _observe_command(self, outcome: str, seconds: float | None) -> None:
        self.metrics.commands.labels(outcome).inc()
        if seconds is not None:
            self.metrics.command_latency.observe(seconds)
