"""What the system relies on from Mosquitto's own bridge (2.0.11, MQTT 5), checked on the
configuration `factory-broker render` writes: a command's message expiry crosses the hop,
and retained state comes back across a link that returns."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.edge_topology import WATCHER, EdgeTopology
from devtools.mqtt_probe import MqttProbe
from factory_core.contract import Topics

GW = "probe-gw"
t = Topics()


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[EdgeTopology]:
    with EdgeTopology(tmp_path, GW) as running:
        yield running


def link_up(central: MqttProbe, after: float = 0.0) -> None:
    central.wait_for(
        lambda m: m.topic == t.edge_link("hall") and m.text == "1" and m.at >= after,
        timeout=30,
        what="the edge's link up",
    )


def test_a_commands_message_expiry_crosses_the_bridge(topology: EdgeTopology) -> None:
    with (
        MqttProbe(topology.url_central(WATCHER), [t.edge_link("hall")]) as central,
        MqttProbe(topology.url_edge(GW), [t.command_filter(GW)]) as gateway,
    ):
        link_up(central)
        central.publish(t.relay_set(GW, "relay_1"), "{}", expiry=30)
        got = gateway.wait_for(lambda m: m.topic == t.relay_set(GW, "relay_1"), timeout=15)
    assert got.properties is not None
    assert 0 < got.properties.MessageExpiryInterval <= 30


def test_retained_state_is_sent_again_when_the_link_returns(topology: EdgeTopology) -> None:
    with (
        MqttProbe(topology.url_central(WATCHER), [t.edge_link("hall"), t.status(GW)]) as central,
        MqttProbe(topology.url_edge(GW), []) as gateway,
    ):
        link_up(central)
        topology.link.drop()
        central.wait_for(lambda m: m.text == "0", timeout=30, what="the edge's link down")
        gateway.publish(t.status(GW), "offline", retain=True)  # its last will, during the cut
        restored = time.time()
        topology.link.pass_()
        link_up(central, after=restored)
        central.wait_for(
            lambda m: m.topic == t.status(GW) and m.text == "offline",
            timeout=30,
            what="the status retained on the edge during the cut",
        )
