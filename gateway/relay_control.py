"""The relays as a component: safe states at start, MQTT commands in, shutdown states at stop.

Every relay action runs on the actuator worker, in order; this module only turns each MQTT
command message into an :class:`IncomingCommand` and hands it over (paho's thread never waits).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.subscribeoptions import SubscribeOptions

from factory_core.command_expiry import expires_at
from factory_core.contract import (
    AllToSafeTopic,
    CommandResult,
    ContractError,
    RelayLockTopic,
    RelayResultTopic,
    RelaySetTopic,
    Topics,
)
from factory_core.ratelimited_log import RateLimitedLog
from gateway.actuation import IncomingCommand, Outbound, RelayController
from gateway.command_log import CommandLog
from gateway.config import GatewayConfig
from gateway.hardware.base import PinBackend
from gateway.interlock_decision import Interlocks
from gateway.metrics import GatewayMetrics
from gateway.mqtt_link import MqttLink
from gateway.relay_ledger import RelayLedger
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
        self._answering_lock = False  # on the actuator worker only
        self.topics: Topics = config.topics
        self.actuator = actuator
        self.metrics = metrics
        self.republish_interval_s = config.republish_interval_s
        self.dropped = RateLimitedLog(log)
        ledger = RelayLedger(config.state_dir / f"{self.gw}-relays.json")
        self.controller = RelayController(
            self.gw,
            self.topics,
            [Relay(c, backend, ledger.wear_of(c.id)) for c in config.relays],
            CommandLog(config.state_dir / f"{self.gw}-commands.log"),
            send=self._send,
            schedule=actuator.call_later,
            clock_skew_s=config.clock_skew_s,
            observe=self._observe_command,
            ledger=ledger,
            interlocks=Interlocks(config.interlocks),
            inputs={
                i.id: functools.partial(_read_input, backend, i.pin, i.active_low)
                for i in config.inputs
            },
            observe_actuation=self._observe_actuation,
        )
        options = SubscribeOptions(qos=1, retainAsPublished=True)
        link.route(self.topics.command_filter(self.gw), options, self._on_command)
        # Lock and all-to-safe commands: only bridges may publish them (docs/security.md).
        link.route(self.topics.lock_filter(self.gw), options, self._on_command)
        link.route(self.topics.all_to_safe(self.gw), options, self._on_command)

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
        if (
            not isinstance(parsed, RelaySetTopic | RelayLockTopic | AllToSafeTopic)
            or parsed.gateway != self.gw
        ):
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
            relay_id="" if isinstance(parsed, AllToSafeTopic) else parsed.relay,
            payload=bytes(msg.payload),
            mqtt_expires_at=expires_at(expiry, time.monotonic()),
            response_topic=response_topic if isinstance(response_topic, str) else None,
            correlation=bytes(correlation) if isinstance(correlation, bytes | bytearray) else None,
            received_at=time.monotonic(),
        )
        match parsed:
            case RelaySetTopic():
                self.actuator.call_soon(lambda: self.controller.handle(incoming))
            case RelayLockTopic():
                self.actuator.call_soon(lambda: self._handle_lock(incoming))
            case AllToSafeTopic():
                self.actuator.call_soon(lambda: self.controller.handle_all_to_safe(incoming))

    def input_changed(self) -> None:
        """A digital input moved: a permissive may have been lost (a trip, at once)."""
        self.actuator.call_soon(self.controller.enforce_interlocks)

    def _handle_lock(self, incoming: IncomingCommand) -> None:
        # A lock's answer comes on the relay's result topic too, but it moves no pin: it
        # neither raises nor clears the relay's read-back and failure alarms.
        self._answering_lock = True
        try:
            self.controller.handle_lock(incoming)
        finally:
            self._answering_lock = False

    def _send(self, out: Outbound) -> None:
        self.link.send(out)
        if self._answering_lock:
            return
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

    def _observe_actuation(self, seconds: float) -> None:
        self.metrics.actuation_latency.observe(seconds)
        self.metrics.last_actuation_s = seconds


def _read_input(backend: PinBackend, pin: int, active_low: bool) -> bool:
    return backend.read(pin) != active_low
