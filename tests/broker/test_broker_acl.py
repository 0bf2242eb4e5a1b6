"""Who may do what on the broker: every refusal here is Mosquitto's own, against the ACL and
password file rendered from a plant description. A denied PUBLISH is dropped silently (QoS 1
is still acknowledged), so each test asserts on what a subscriber receives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe
from factory_core.broker_admin import logins
from factory_core.contract import Topics
from tests.broker.helpers import barrier, try_login

t = Topics()


@pytest.fixture
def line1(plant_broker: LocalBroker) -> Iterator[MqttProbe]:
    """Gateway line1, subscribed to every command (its own, and line2's if it could)."""
    with MqttProbe(plant_broker.url_for("line1"), [t.all_commands_filter(), t.rebirth()]) as p:
        yield p


def test_anonymous_clients_are_refused(plant_broker: LocalBroker) -> None:
    outcome = try_login("127.0.0.1", plant_broker.port)
    assert not outcome.connected
    assert outcome.reason == "Not authorized"


@pytest.mark.parametrize("user", ["line1", "nobody"])
def test_a_wrong_password_is_refused(plant_broker: LocalBroker, user: str) -> None:
    outcome = try_login("127.0.0.1", plant_broker.port, user, "not-the-password")
    assert not outcome.connected
    assert outcome.reason == "Not authorized"


def test_every_login_works_with_its_users_password(plant_broker: LocalBroker) -> None:
    """Each user's own login, and a bridge's (or admin's) samples login with its password."""
    for login in logins(plant_broker.plant):
        password = plant_broker.passwords[login.user.name]
        assert try_login("127.0.0.1", plant_broker.port, login.name, password).connected, login


def test_a_gateway_publishes_only_into_its_own_subtree(line1: MqttProbe, admin: MqttProbe) -> None:
    forged = [
        t.status("line2"),
        t.relay_state("line2", "relay_1"),
        t.relay_set("line2", "relay_1"),
        t.rebirth(),
        "elsewhere/line1/status",
    ]
    for topic in forged:
        line1.publish(topic, "forged")
    line1.publish(t.relay_state("line1", "relay_1"), "genuine")

    admin.wait_for(lambda m: m.topic == t.relay_state("line1", "relay_1"), what="line1's own")
    assert [m.topic for m in admin.messages if m.text == "forged"] == []


def test_a_gateway_reads_only_its_own_commands_and_rebirth(
    line1: MqttProbe, admin: MqttProbe
) -> None:
    admin.publish(t.relay_set("line2", "relay_1"), "for line2")
    admin.publish(t.status("line2"), "online")
    admin.publish(t.rebirth(), "")
    barrier(admin, line1, t.relay_set("line1", "relay_1"))

    assert [m.topic for m in line1.messages if "line2" in m.topic] == []
    assert line1.on_topic(t.rebirth()), "a gateway must hear rebirth requests"


def test_a_reader_sees_telemetry_and_can_publish_nothing(
    plant_broker: LocalBroker, admin: MqttProbe
) -> None:
    with MqttProbe(plant_broker.url_for("historian"), [t.everything_filter()]) as reader:
        for topic in (t.relay_set("line1", "relay_1"), t.rebirth(), t.status("line1")):
            reader.publish(topic, "from the reader")
        barrier(admin, admin, t.relay_set("line1", "relay_1"))
        assert [m.topic for m in admin.messages if m.text == "from the reader"] == []

        admin.publish(t.relay_set("line1", "relay_2"), "a command")
        barrier(admin, reader, t.relay_state("line1", "relay_2"))
        assert reader.on_topic(t.relay_set("line1", "relay_2")) == [], "commands aren't telemetry"


def test_a_writer_commands_only_its_listed_relays(
    plant_broker: LocalBroker, admin: MqttProbe
) -> None:
    with MqttProbe(plant_broker.url_for("scada"), t.telemetry_filters()) as scada:
        scada.publish(t.relay_set("line1", "relay_2"), "not listed")
        scada.publish(t.relay_set("line2", "relay_1"), "not listed")
        scada.publish(t.relay_set("line1", "relay_1"), "listed")

        admin.wait_for(lambda m: m.text == "listed", what="the listed relay's command")
        assert [m.topic for m in admin.messages if m.text == "not listed"] == []
        barrier(admin, scada, t.relay_result("line1", "relay_1"))


def test_the_bridge_reads_everything_and_commands_any_relay(
    plant_broker: LocalBroker, line1: MqttProbe, admin: MqttProbe
) -> None:
    with MqttProbe(plant_broker.url_for("bridge"), [t.everything_filter()]) as bridge:
        line1.publish(t.relay_state("line1", "relay_1"), "from line1")
        bridge.wait_for(lambda m: m.text == "from line1", what="line1's telemetry")

        bridge.publish(t.rebirth(), "")
        bridge.publish(t.relay_set("line2", "relay_3"), "bridge command")
        bridge.publish(t.relay_set("line1", "relay_1"), "bridge command")
        line1.wait_for(lambda m: m.topic == t.rebirth(), what="rebirth")
        line1.wait_for(lambda m: m.text == "bridge command", what="the bridge's command")
        admin.wait_for(lambda m: m.topic == t.relay_set("line2", "relay_3"), what="to line2")

        bridge.publish(t.relay_state("line1", "relay_1"), "forged by bridge")
        barrier(admin, admin, t.status("line1"))
        assert [m.topic for m in admin.messages if m.text == "forged by bridge"] == []


def test_alarm_commands_go_from_bridges_to_their_gateway_and_gateway_acks_are_bridges_only(
    plant_broker: LocalBroker, admin: MqttProbe
) -> None:
    """A bridge commands any gateway's alarms and writes the shared acknowledgement of a
    gateway's offline/silent alarm; a gateway hears only its own alarms' commands."""
    ack_line2 = t.alarm_set("line2", "temperature", "hi")
    ack_line1 = t.alarm_set("line1", "temperature", "hi")
    shared = t.gateway_alarm_ack("line2", "offline")
    with (
        MqttProbe(
            plant_broker.url_for("line1"),
            [t.alarm_command_filter("line1"), f"{t.prefix}/+/alarms/+/+/set"],
        ) as line1,
        MqttProbe(plant_broker.url_for("bridge"), [t.everything_filter()]) as bridge,
        MqttProbe(plant_broker.url_for("historian"), [t.everything_filter()]) as reader,
    ):
        bridge.publish(ack_line2, "to line2")
        bridge.publish(ack_line1, "to line1")
        bridge.publish(shared, "shared ack", retain=True)
        reader.publish(t.gateway_alarm_ack("line1", "silent"), "forged by a reader")
        line1.wait_for(lambda m: m.topic == ack_line1, what="line1's alarm command")
        admin.wait_for(lambda m: m.topic == shared, what="the shared acknowledgement")
        barrier(admin, line1, t.alarm_set("line1", "temperature", "lo"))
        assert [m.topic for m in line1.messages if "line2" in m.topic] == []
        assert [m for m in admin.messages if m.text == "forged by a reader"] == []
        admin.publish(shared, b"", retain=True)


def test_a_gateway_reads_back_its_own_retained_alarms_only(
    plant_broker: LocalBroker, admin: MqttProbe
) -> None:
    """So that it can clear the alarms that left its config, and learns nothing of others'."""
    own = t.alarm_state("line1", "temperature", "hi")
    other = t.alarm_state("line2", "temperature", "hi")
    admin.publish(own, "line1's", retain=True)
    admin.publish(other, "line2's", retain=True)
    try:
        with MqttProbe(plant_broker.url_for("line1"), [f"{t.prefix}/+/alarms/+/+/state"]) as line1:
            line1.wait_for(lambda m: m.topic == own and m.retain, what="its own retained alarm")
            line1.publish(own, b"", retain=True)  # and may clear it
            barrier(admin, line1, t.alarm_state("line1", "temperature", "lo"))
            assert [m.topic for m in line1.messages if "line2" in m.topic] == []
        admin.wait_for(lambda m: m.topic == own and not m.payload, what="line1 cleared it")
    finally:
        admin.publish(other, b"", retain=True)
