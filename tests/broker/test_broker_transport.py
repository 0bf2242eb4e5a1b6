"""The TLS listener, and the packet-size limit, on a real Mosquitto."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.reasoncodes import ReasonCode

from devtools.local_broker import LocalBroker, TlsFiles, make_test_certificates
from devtools.mqtt_probe import MqttProbe
from factory_core.contract import Topics
from factory_core.mqtt import make_client
from factory_core.settings import CommonSettings
from tests.broker.helpers import PLANT, barrier, try_login

t = Topics()
MAX_PACKET_SIZE = 262144  # mosquitto/mosquitto.conf


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_test_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory, certs: TlsFiles) -> Iterator[LocalBroker]:
    with LocalBroker(
        tmp_path_factory.mktemp("tls-broker"), plant=PLANT, tls=certs, bind_client_ids=True
    ) as b:
        yield b


def test_a_gateway_publishes_over_tls_with_the_configured_ca(
    tls_broker: LocalBroker, certs: TlsFiles
) -> None:
    settings = CommonSettings(mqtt_url=tls_broker.url_for("line1", tls=True), mqtt_ca_file=certs.ca)
    connected = threading.Event()
    client = make_client(
        settings.broker, "line1-tls", on_connect=lambda _c: connected.set(), on_message=print
    )
    with MqttProbe(tls_broker.url, [t.status("line1")]) as plain_subscriber:
        client.connect_async(settings.broker.host, settings.broker.port)
        client.loop_start()
        try:
            assert connected.wait(30), "no TLS connection"
            client.publish(t.status("line1"), "online", qos=1).wait_for_publish(10)
            plain_subscriber.wait_for(lambda m: m.text == "online", what="over TLS")
        finally:
            client.disconnect()
            client.loop_stop()


def test_the_tls_listener_refuses_plain_mqtt(tls_broker: LocalBroker) -> None:
    assert tls_broker.tls_port is not None
    outcome = try_login("127.0.0.1", tls_broker.tls_port, "line1", tls_broker.passwords["line1"])
    assert not outcome.connected, outcome


def test_tls_refuses_a_broker_signed_by_an_untrusted_ca(
    tls_broker: LocalBroker, tmp_path: Path
) -> None:
    assert tls_broker.tls_port is not None
    other_ca = make_test_certificates(tmp_path / "other").ca
    password = tls_broker.passwords["line1"]
    outcome = try_login("127.0.0.1", tls_broker.tls_port, "line1", password, tls_ca=other_ca)
    assert not outcome.connected
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.reason


def test_a_missing_ca_file_is_a_settings_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(ValueError, match=r"nope\.pem"):
        CommonSettings(mqtt_url="mqtts://broker:8883", mqtt_ca_file=missing)


def test_a_packet_over_the_limit_is_refused_and_its_sender_disconnected(
    tls_broker: LocalBroker,
) -> None:
    # Its own login: with client ids bound to users, a second superuser connection would
    # push the subscriber off.
    address = CommonSettings(mqtt_url=tls_broker.url_for("line1")).broker
    lost = threading.Event()
    reasons: list[ReasonCode] = []

    def on_disconnect(_c: paho.Client, reason: ReasonCode) -> None:
        reasons.append(reason)
        lost.set()

    sender = make_client(
        address, "big-sender", on_connect=lambda _c: None, on_message=print,
        on_disconnect=on_disconnect,
    )  # fmt: skip
    topic = t.relay_state("line1", "relay_1")
    with MqttProbe(tls_broker.url, [topic]) as subscriber:
        sender.connect(address.host, address.port)
        sender.loop_start()
        try:
            sender.publish(topic, b"x" * (MAX_PACKET_SIZE // 2), qos=1).wait_for_publish(10)
            subscriber.wait_for(lambda m: len(m.payload) == MAX_PACKET_SIZE // 2, what="128 KiB")
            sender.publish(topic, b"y" * (MAX_PACKET_SIZE + 1), qos=1)
            assert lost.wait(30), "the broker kept a client that sent an oversized packet"
        finally:
            sender.disconnect()
            sender.loop_stop()
        barrier(subscriber, subscriber, topic)
        assert [len(m.payload) for m in subscriber.messages if m.payload[:1] == b"y"] == []
    assert str(reasons[0]) == "Packet too large"
