"""Alarms as a component: the gateway evaluates and publishes the alarms of its own devices.

Every reading the sampler takes is offered here (``observe``, on the sampler's or the input's
thread); an alarm whose state changed is published retained on
``<prefix>/<gw>/alarms/<device>/<condition>/state``. Operators' commands (acknowledge, shelve,
unshelve) arrive on ``.../set`` and follow the relay command rules: refused once expired,
each id run at most once (also across a restart), answered on ``.../result``. What operators
did is kept in the state dir, so that a restart does not raise acknowledged alarms anew.

The gateway also reads back its own retained alarm states: one whose definition is no longer
in its config (a limit or a device removed since an earlier run) is cleared with an empty
retained payload, so that no reader keeps an alarm that nothing evaluates any more.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import paho.mqtt.client as paho
from paho.mqtt.subscribeoptions import SubscribeOptions

from factory_core.command_expiry import expires_at, expiry_problem
from factory_core.contract import (
    AlarmCommand,
    AlarmSetTopic,
    AlarmStateTopic,
    CommandResult,
    ContractError,
    ErrorCode,
    Topics,
    decode,
)
from factory_core.ratelimited_log import RateLimitedLog
from gateway.actuation import Outbound, Send
from gateway.alarm_book import AlarmBook, AlarmCommandError, Key, Value, definitions
from gateway.command_log import CommandLog
from gateway.config import GatewayConfig
from gateway.mqtt_link import MqttLink
from gateway.worker import Worker

log = logging.getLogger(__name__)

# How often on-delays and shelves are looked at: an alarm is raised at most this late.
TICK_S: Final = 0.5


class Alarming:
    def __init__(
        self,
        config: GatewayConfig,
        link: MqttLink,
        actuator: Worker,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gw = config.gateway_id
        self.topics: Topics = config.topics
        self.send: Send = link.send
        self.actuator = actuator
        self.clock = clock
        self.monotonic = monotonic
        self.clock_skew_s = config.clock_skew_s
        self.book = AlarmBook(definitions(config))
        self.dropped = RateLimitedLog(log)
        self._lock = threading.Lock()
        self._path: Path = config.state_dir / f"{self.gw}-alarms.json"
        self._done = CommandLog(config.state_dir / f"{self.gw}-alarm-commands.log")
        self._restore()
        self._known = frozenset(self.book.alarm_keys())
        # Always, even with no alarms defined: those of an earlier config may be retained.
        # noLocal: what it publishes now is not echoed back to it; Mosquitto still delivers
        # the retained messages an earlier run left (as Home Assistant discovery relies on).
        link.route(
            self.topics.alarm_state_filter(self.gw),
            SubscribeOptions(qos=1, noLocal=True),
            self._on_retained_state,
        )
        if len(self.book):
            link.route(
                self.topics.alarm_command_filter(self.gw),
                SubscribeOptions(qos=1, retainAsPublished=True),
                self._on_command,
            )

    # Component --------------------------------------------------------------

    def start(self) -> None:
        if len(self.book):
            self.actuator.call_every(TICK_S, self._tick, first_delay_s=TICK_S)

    def stop(self) -> None:
        """Nothing to take down: every change was written when it happened."""

    def republish(self) -> None:
        """Every alarm's state, retained (a rebirth): normal ones too, so that a reader sees
        which alarms exist."""
        with self._lock:
            now = self.clock()
            states = [(k, self.book.state(k, now)) for k in self.book.alarm_keys()]
        for k, state in states:
            self.send(Outbound(self.topics.alarm_state(self.gw, *k), state, retain=True))

    # Inputs -----------------------------------------------------------------

    def observe(self, device: str, value: Value, quality: str) -> None:
        """A reading was taken (any thread)."""
        with self._lock:
            changed = self.book.reading(device, value, quality, self.clock())
            self._publish(changed)

    def relay_result(self, relay: str, error: str | None) -> None:
        """A relay command was answered (the actuator's thread)."""
        with self._lock:
            self._publish(self.book.relay_result(relay, error, self.clock()))

    def _tick(self) -> None:
        with self._lock:
            self._publish(self.book.tick(self.clock()))

    def _on_retained_state(self, msg: paho.MQTTMessage) -> None:
        """A retained alarm of ours (paho's thread): cleared when its definition is gone."""
        if not (msg.retain and msg.payload):
            return  # what we publish live, or a removal (ours, echoed)
        try:
            parsed = self.topics.parse(msg.topic)
        except ContractError:
            return  # not an alarm topic of the contract: not ours to judge
        if not isinstance(parsed, AlarmStateTopic):
            return
        if (parsed.source, parsed.condition) in self._known:
            return
        log.info("clearing the retained alarm %s: it is no longer in the config", msg.topic)
        topic = msg.topic
        self.actuator.call_soon(
            lambda: self.send(Outbound(topic, b"", retain=True, kind="alarm_removed"))
        )

    def _on_command(self, msg: paho.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        mqtt_expires_at = expires_at(
            getattr(props, "MessageExpiryInterval", None), self.monotonic()
        )
        topic, payload, retained = msg.topic, bytes(msg.payload), msg.retain
        self.actuator.call_soon(lambda: self._run(topic, payload, retained, mqtt_expires_at))

    def _run(
        self, topic: str, payload: bytes, retained: bool, mqtt_expires_at: float | None
    ) -> None:
        try:
            message = decode(self.topics, topic, payload)
        except ContractError as exc:
            self.dropped.warning("alarm_command", "dropped an alarm command: %s", exc)
            return
        parsed, command = message.topic, message.payload
        if not isinstance(parsed, AlarmSetTopic) or not isinstance(command, AlarmCommand):
            return
        if retained:
            self.dropped.warning("retained", "ignored a retained alarm command on %r", topic)
            return
        error: ErrorCode | None = None
        detail: str | None = None
        problem = expiry_problem(
            command.deadline, self.clock(), self.clock_skew_s, mqtt_expires_at, self.monotonic()
        )
        if problem is not None:
            error, detail = "expired", problem
        elif command.id in self._done:
            error, detail = "duplicate", f"command {command.id} was already run"
        else:
            with self._lock:
                try:
                    self.book.command(parsed.source, parsed.condition, command, self.clock())
                except AlarmCommandError as refused:
                    error, detail = refused.error, refused.detail
                else:
                    self._done.record(command.id)
                    self._publish([(parsed.source, parsed.condition)])
        result = CommandResult(id=command.id, ok=error is None, error=error, detail=detail)
        self.send(
            Outbound(self.topics.alarm_result(self.gw, parsed.source, parsed.condition), result)
        )

    # Internals --------------------------------------------------------------

    def _publish(self, changed: list[Key]) -> None:
        """Publish (retained) and save the alarms that changed; the caller holds the lock."""
        if not changed:
            return
        now = self.clock()
        for k in changed:
            self.send(
                Outbound(self.topics.alarm_state(self.gw, *k), self.book.state(k, now), retain=True)
            )
        self._save()

    def _save(self) -> None:
        tmp = self._path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.book.durable()))
            os.replace(tmp, self._path)
        except OSError as exc:
            self.dropped.warning("save", "cannot save the alarms to %s: %s", self._path, exc)

    def _restore(self) -> None:
        try:
            saved = json.loads(self._path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring the saved alarms in %s: %s", self._path, exc)
            return
        if isinstance(saved, dict):
            self.book.restore(saved)
