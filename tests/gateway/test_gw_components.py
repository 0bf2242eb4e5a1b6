"""The gateway as components: one plugged in the way alarms and interlocks will be (its own
MQTT route and link listener) is started after the relays are safe and stopped while the link
is still up, before the relays' shutdown; a real broker and the fake RPi.GPIO."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import paho.mqtt.client as paho
import pytest
from gw_helpers import GW, MOTOR, board, is_online, write_ds18b20
from paho.mqtt.subscribeoptions import SubscribeOptions

from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe, Received
from factory_core.contract import Topics
from gateway.actuation import Outbound
from gateway.config import parse_config
from gateway.hardware.factory import make_backend
from gateway.service import Gateway

topics = Topics()
PING = f"{topics.prefix}/{GW}/test/ping"
SAID = f"{topics.prefix}/{GW}/test/said"


class Echo:
    """A component: answers ``ping`` with ``pong``, says ``bye`` when it stops."""

    def __init__(self, gateway: Gateway, gpio: ModuleType) -> None:
        self.gateway = gateway
        self.gpio = gpio
        self.motor_level_at_start: int | None = None
        self.link_up = threading.Event()
        gateway.link.route(PING, SubscribeOptions(qos=1), self._on_ping)
        gateway.link.on_up(self.link_up.set)

    def start(self) -> None:
        self.motor_level_at_start = self.gpio.level(MOTOR)

    def stop(self) -> None:
        self.gateway.link.send(Outbound(SAID, b"bye", kind="test"))

    def _on_ping(self, _msg: paho.MQTTMessage) -> None:
        self.gateway.link.send(Outbound(SAID, b"pong", kind="test"))


def _said(text: str) -> Callable[[Received], bool]:
    return lambda m: m.topic == SAID and m.text == text


def _relay_shutdown(m: Received) -> bool:
    return m.topic == topics.relay_state(GW, "motor") and b'"shutdown"' in m.payload


def test_a_plugged_in_component_runs_between_relay_boot_and_relay_shutdown(
    broker_env: LocalBroker, gpio: ModuleType, tmp_path: Path
) -> None:
    write_ds18b20(tmp_path / "w1", 21437)
    config = parse_config(board(tmp_path))
    gateway = Gateway(config, make_backend(config.hardware))
    echo = Echo(gateway, gpio)
    gateway.add(echo)
    with MqttProbe(broker_env.url, [topics.gateway_filter(GW)]) as probe:
        gateway.start()
        try:
            # The motor relay is active low and safe off: its pin was high before we started.
            assert echo.motor_level_at_start == 1
            probe.wait_for(is_online, what="online")
            assert echo.link_up.wait(10), "the component heard of the connect"
            probe.publish(PING, b"")
            probe.wait_for(_said("pong"), what="pong")
            with pytest.raises(RuntimeError, match="before the gateway starts"):
                gateway.add(Echo(gateway, gpio))
        finally:
            gateway.stop()
        offline = probe.wait_for(lambda m: m.topic == topics.status(GW) and m.text == "offline")
        bye = probe.wait_for(_said("bye"), what="bye")
        shutdown = probe.wait_for(_relay_shutdown, what="motor shutdown state")
        order = [probe.messages.index(m) for m in (bye, shutdown, offline)]
        assert order == sorted(order), "stopped first, then relays shut down, then offline"
