"""Shared by the broker tests: the plant they run, a delivery barrier, a login attempt."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devtools.mqtt_probe import MqttProbe
from factory_core.broker_admin import Plant, RelayRef, Role, User

PLANT = Plant(
    users=(
        User("line1", Role.GATEWAY),
        User("line2", Role.GATEWAY),
        User("bridge", Role.BRIDGE),
        User("historian", Role.READER),
        User("scada", Role.WRITER, (RelayRef("line1", "relay_1"),)),
    )
)


def barrier(sender: MqttProbe, receiver: MqttProbe, topic: str) -> None:
    """Publish a marker after whatever ``sender`` (or anyone, before this call) published, and
    wait until ``receiver`` has it. Mosquitto queues a QoS 1 message to its subscribers before
    it acknowledges it, so anything published earlier would have arrived by now."""
    token = uuid.uuid4().hex
    sender.publish(topic, token)
    receiver.wait_for(lambda m: m.topic == topic and m.text == token, what=f"barrier on {topic}")


@dataclass
class Outcome:
    connected: bool
    reason: str


def try_login(
    host: str,
    port: int,
    username: str | None = None,
    password: str | None = None,
    *,
    tls_ca: Path | None = None,
    client_id: str | None = None,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
) -> Outcome:
    """Connect once, as ``mosquitto_sub [-i client_id]`` would, and report whether the broker
    let us in."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"login-{uuid.uuid4().hex[:8]}",
        protocol=protocol,
    )
    if username is not None:
        client.username_pw_set(username, password)
    if tls_ca is not None:
        client.tls_set(ca_certs=str(tls_ca))
    done = threading.Event()
    outcome = Outcome(False, "no answer")

    def on_connect(
        _c: paho.Client, _u: object, _f: object, rc: ReasonCode, _p: Properties | None
    ) -> None:
        outcome.connected = not rc.is_failure
        outcome.reason = str(rc)
        done.set()

    def on_disconnect(
        _c: paho.Client, _u: object, _f: object, rc: ReasonCode, _p: Properties | None
    ) -> None:
        if not done.is_set():
            outcome.reason = f"closed before CONNACK ({rc})"
            done.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    try:
        client.connect(host, port, keepalive=10)
    except OSError as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}")
    client.loop_start()
    try:
        assert done.wait(30), "the broker neither accepted nor refused the connection"
    finally:
        client.disconnect()
        client.loop_stop()
    return outcome
