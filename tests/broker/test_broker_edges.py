"""Edge brokers in the plant description: what `factory-broker render` writes for them (the
central ACL, each edge's passwd/acl/bridge), the central broker enforcing the edge login's
rights, and bad input refused before any broker starts (issue 18, item 1)."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from hypothesis import given
from hypothesis import strategies as st

from devtools.local_broker import LocalBroker, free_port
from devtools.mqtt_probe import MqttProbe
from factory_broker.provision import read_secrets
from factory_core.broker_admin import (
    PlantError,
    Role,
    common_topic,
    logins,
    parse_plant,
    password_env_var,
    render_acl,
)
from factory_core.contract import Topics
from tests.broker.helpers import barrier

PLANT_TOML = """
prefix = "factory"
gateways = ["line1", "line2", "line3"]

[users.bridge]
role = "bridge"

[edges.hall-a]
address = "central.plant.lan:1883"
username = "edge-hall-a"
gateways = ["line1", "line2"]
keepalive_s = 12
"""
t = Topics()


def factory_broker(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "factory_broker", *args], capture_output=True, text=True, check=False
    )


def acl_blocks(text: str) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("user "):
            current = blocks.setdefault(line.removeprefix("user "), [])
        elif line.startswith("topic "):
            current.append(line.removeprefix("topic "))
    return blocks


def directives(conf: str) -> list[tuple[str, str]]:
    return [
        (key, value)
        for key, _, value in (
            line.partition(" ") for line in conf.splitlines() if line and not line.startswith("#")
        )
    ]


GW_OUT = (
    "status", "meta", "devices/+/state", "relays/+/state", "relays/+/result",
    "all_to_safe/result", "system", "alarms/+/+/state", "alarms/+/+/result", "late_samples",
)  # fmt: skip
GW_IN = ("relays/+/set", "relays/+/lock", "all_to_safe", "alarms/+/+/set")


def test_render_writes_each_edge_its_users_and_its_bridge_to_the_central_broker(
    tmp_path: Path,
) -> None:
    plant = tmp_path / "plant.toml"
    plant.write_text(PLANT_TOML)
    secrets = tmp_path / "secrets.env"
    done = factory_broker("render", "--plant", str(plant), "--out", str(tmp_path / "out"),
                          "--secrets", str(secrets))  # fmt: skip
    assert done.returncode == 0, done.stderr
    passwords = read_secrets(secrets)
    out = tmp_path / "out"
    edge = out / "edges" / "hall-a"

    # Central: the bridge, the gateway not behind an edge, the edge's login; not line1/line2.
    central_users = [line.split(":")[0] for line in (out / "passwd").read_text().splitlines()]
    assert central_users == ["line3", "bridge", "bridge-samples", "edge-hall-a"]
    # The edge: its own gateways, with the same passwords as anywhere.
    edge_users = [line.split(":")[0] for line in (edge / "passwd").read_text().splitlines()]
    assert edge_users == ["line1", "line2"]
    assert set(acl_blocks((edge / "acl").read_text())) == {"line1", "line2"}

    bridge = edge / "conf.d" / "bridge.conf"
    assert stat.S_IMODE(bridge.stat().st_mode) == 0o600, "it holds the bridge's password"
    lines = directives(bridge.read_text())
    settings = dict(lines)
    assert settings["connection"] == "hall-a"
    assert settings["address"] == "central.plant.lan:1883"
    assert settings["remote_username"] == settings["remote_clientid"] == "edge-hall-a"
    assert settings["remote_password"] == passwords[password_env_var("edge-hall-a")]
    assert settings["keepalive_interval"] == "12"
    assert settings["cleansession"] == "true"
    assert settings["notifications"] == "true"
    assert settings["notification_topic"] == "factory/$edges/hall-a/link"
    assert settings["try_private"] == "true"
    assert settings["bridge_protocol_version"] == "mqttv50"
    bridged = [value for key, value in lines if key == "topic"]
    assert bridged == [
        *(f"factory/{gw}/{tail} out 1" for gw in ("line1", "line2") for tail in GW_OUT),
        *(f"factory/{gw}/{tail} in 1" for gw in ("line1", "line2") for tail in GW_IN),
        "factory/rebirth in 1",
    ]


def test_the_central_acl_gives_the_edge_login_exactly_its_bridged_topics() -> None:
    plant = parse_plant(tomllib.loads(PLANT_TOML))
    blocks = acl_blocks(render_acl(plant))
    assert blocks["edge-hall-a"] == [
        "write factory/$edges/hall-a/link",
        *(f"write factory/{gw}/{tail}" for gw in ("line1", "line2") for tail in GW_OUT),
        *(f"read factory/{gw}/{tail}" for gw in ("line1", "line2") for tail in GW_IN),
        "read factory/rebirth",
    ]
    assert "line1" not in blocks and "line3" in blocks
    assert [login.name for login in logins(plant) if login.user.role is Role.EDGE] == [
        "edge-hall-a"
    ]


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    plant = parse_plant(tomllib.loads(PLANT_TOML))
    with LocalBroker(
        tmp_path_factory.mktemp("central"), plant=plant, bind_client_ids=True
    ) as broker:
        yield broker


def test_the_central_broker_lets_the_edge_login_carry_only_its_gateways(
    central: LocalBroker,
) -> None:
    with (
        MqttProbe(central.url, ["factory/#"]) as admin,
        MqttProbe(central.url_for("edge-hall-a"), ["factory/+/relays/+/set"]) as edge,
    ):
        edge.publish(t.status("line1"), "online", retain=False)
        edge.publish(t.status("line3"), "online", retain=False)  # not behind this edge
        edge.publish(t.relay_set("line1", "relay_1"), "{}")  # a command, the wrong way
        edge.publish(t.edge_link("hall-a"), "1")
        barrier(admin, admin, "factory/line9/barrier")  # after the edge's publishes
        seen = [(m.topic, m.text) for m in admin.messages]
        assert (t.status("line1"), "online") in seen
        assert (t.edge_link("hall-a"), "1") in seen
        assert (t.status("line3"), "online") not in seen
        assert not [s for s in seen if s[0].endswith("/set")]

        admin.publish(t.relay_set("line1", "relay_1"), "for line1")
        admin.publish(t.relay_set("line3", "relay_1"), "for line3")
        barrier(admin, edge, t.relay_set("line2", "barrier"))
        got = [m.text for m in edge.messages]
        assert "for line1" in got and "for line3" not in got


def test_bad_edges_are_refused_all_at_once_naming_each_value(tmp_path: Path) -> None:
    plant = tmp_path / "plant.toml"
    plant.write_text(
        """
gateways = ["line1", "line2"]

[edges.hall-a]
address = "central:1883"
username = "edge-a"
gateways = ["line1", "line9"]

[[edges.hall-a.topics]]
pattern = "site/#"
direction = "both"

[[edges.hall-a.topics]]
pattern = "factory/#"
direction = "out"

[edges.hall-b]
address = "central:99999"
gateways = ["line1"]
keepalive_s = 1
"""
    )
    done = factory_broker("check", "--plant", str(plant))
    assert done.returncode == 2
    err = done.stderr
    for expected in (
        "edges.hall-a.gateways: 'line9' is not listed in gateways",
        "edges.hall-a.topics[0]: 'site/#' is bridged both in and out without a prefix",
        "edges.hall-a.topics[1]: 'factory/#' (out) and 'factory/line1/relays/+/set' (in)",
        "edges.hall-b: no bridge login: add username",
        "edges.hall-b.address: 'central:99999' has port '99999'",
        "edges.hall-b.keepalive_s: must be whole seconds from 5 to 300, got 1",
    ):
        assert expected in err, f"{expected!r} missing from:\n{err}"

    plant.write_text(
        """
gateways = ["line1"]
[edges.hall-a]
address = "central"
username = "edge-a"
gateways = ["line1"]
[edges.hall-b]
address = "central"
username = "edge-b"
gateways = ["line1"]
"""
    )
    done = factory_broker("check", "--plant", str(plant))
    assert done.returncode == 2
    assert "edges.hall-b.gateways: 'line1' is already behind edge 'hall-a'" in done.stderr


def test_a_prefixed_topic_both_ways_is_no_loop(tmp_path: Path) -> None:
    plant = tmp_path / "plant.toml"
    plant.write_text(
        """
gateways = ["line1"]
[edges.hall-a]
address = "central"
username = "edge-a"
gateways = ["line1"]
[[edges.hall-a.topics]]
pattern = "site/#"
direction = "both"
remote_prefix = "halls/a/"
"""
    )
    assert factory_broker("check", "--plant", str(plant)).returncode == 0
    done = factory_broker("render", "--plant", str(plant), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    bridge = (tmp_path / "out" / "edges" / "hall-a" / "conf.d" / "bridge.conf").read_text()
    assert 'topic site/# both 1 "" halls/a/' in bridge.splitlines()


def test_check_connect_names_an_unreachable_central_broker(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:
        up = listening.getsockname()[1]
        down = free_port()
        plant = tmp_path / "plant.toml"
        plant.write_text(
            f"""
gateways = ["line1", "line2"]
[edges.up]
address = "127.0.0.1:{up}"
username = "edge-up"
gateways = ["line1"]
[edges.down]
address = "127.0.0.1:{down}"
username = "edge-down"
gateways = ["line2"]
"""
        )
        done = factory_broker("check", "--plant", str(plant), "--connect", "--timeout", "2")
    assert done.returncode == 2
    assert f"edges.down.address: central broker 127.0.0.1:{down} unreachable" in done.stderr
    assert "edges.up" not in done.stderr


filters = st.lists(st.sampled_from(["a", "b", "+"]), min_size=1, max_size=4).flatmap(
    lambda levels: st.sampled_from(["/".join(levels), "/".join([*levels, "#"]), "#"])
)
topics = st.lists(st.sampled_from(["a", "b", "x"]), min_size=1, max_size=5).map("/".join)


@given(filters, filters, topics)
def test_two_filters_overlap_exactly_when_a_topic_matches_both(a: str, b: str, topic: str) -> None:
    witness = common_topic(a, b)
    if witness is not None:
        assert paho.topic_matches_sub(a, witness) and paho.topic_matches_sub(b, witness)
    if paho.topic_matches_sub(a, topic) and paho.topic_matches_sub(b, topic):
        assert witness is not None, f"{topic!r} matches {a!r} and {b!r}"


@pytest.mark.parametrize(
    "edge",
    [
        {"address": "c", "username": "e", "gateways": ["Line 1", 5]},
        {"address": 1883, "username": ["e"], "gateways": "line1", "keepalive_s": True},
        {"address": "[::1]:x", "username": "e", "gateways": ["line1"], "topics": [{"qos": 3}]},
    ],
)
def test_a_malformed_edge_is_reported_never_crashes(edge: dict[str, object]) -> None:
    with pytest.raises(PlantError) as refused:
        parse_plant({"gateways": ["line1"], "edges": {"hall-a": edge}})
    assert all(p.startswith("edges.hall-a") for p in refused.value.problems)


def test_every_contract_topic_of_a_gateway_crosses_in_its_direction_only() -> None:
    out = t.gateway_output_filters("line1")
    into = [*t.gateway_input_filters("line1"), t.rebirth()]
    published = [
        t.status("line1"), t.meta("line1"), t.device_state("line1", "temp"),
        t.relay_state("line1", "r1"), t.relay_result("line1", "r1"),
        t.all_to_safe_result("line1"), t.system("line1"),
        t.alarm_state("line1", "temp", "hi"), t.alarm_result("line1", "temp", "hi"),
    ]  # fmt: skip
    commands = [
        t.relay_set("line1", "r1"), t.relay_lock("line1", "r1"), t.all_to_safe("line1"),
        t.alarm_set("line1", "temp", "hi"), t.rebirth(),
    ]  # fmt: skip
    bridges_only = [t.gateway_alarm_ack("line1", "offline"), t.service("line1", "temp")]

    def carried(topic: str, filters: list[str]) -> bool:
        return any(paho.topic_matches_sub(f, topic) for f in filters)

    for topic in published:
        assert carried(topic, out) and not carried(topic, into), topic
    for topic in commands:
        assert carried(topic, into) and not carried(topic, out), topic
    for topic in [*bridges_only, t.status("line2"), t.relay_set("line2", "r1")]:
        assert not carried(topic, out) and not carried(topic, into), topic
