"""Client-id takeover: a new connection with a connected client's id pushes that client off,
so any login able to send a gateway's or a bridge's client id could keep it offline. The
broker binds client ids to usernames: every other login that tries is given its own name as
id instead, and the victims' connections never drop.

"Never drops" is read off the victims' own TCP connections: Mosquitto closes a pushed-off
client's socket before it answers the newcomer's CONNECT, so once the attacker has its
CONNACK the victim's socket is closed already if it was taken over."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import psutil
import pytest
import requests
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devtools.local_broker import LocalBroker, free_port
from devtools.mqtt_probe import MqttProbe
from devtools.procs import ManagedProcess, python_module
from devtools.stack import Stack
from factory_core.broker_admin import Role, User, logins, samples_login
from factory_core.contract import Topics
from tests.broker.helpers import PLANT, barrier, try_login

t = Topics()
BARRIER = "test/barrier"  # outside the plant's prefix: no service reads it
BRIDGE_ID = "bridge-main"  # FACTORY_BRIDGE_ID of the bridge under attack
# bridge2 only attacks; bridge3 is a second bridge running beside the first; ops is an admin.
ATTACK_PLANT = PLANT.with_users(
    User("bridge2", Role.BRIDGE), User("bridge3", Role.BRIDGE), User("ops", Role.ADMIN)
)
# Every role but the victims' own logins (the test superuser watches, so ops is the admin).
ATTACKERS = ("line2", "bridge2", samples_login("bridge2"), "historian", "scada", "ops")
VICTIM_IDS = (
    "factory-gateway-line1",  # what the gateway sends
    "line1",  # what the broker makes of it
    BRIDGE_ID,  # what the bridge sends: control, then samples
    f"{BRIDGE_ID}-samples",
    "bridge",  # what the broker makes of them
    samples_login("bridge"),
    "bridge3",  # the second bridge
    samples_login("bridge3"),
)


def broker_sockets(pid: int, broker_port: int) -> set[int]:
    """Local ports of the process's established connections to the broker."""
    return {
        c.laddr.port
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.raddr and c.raddr.port == broker_port and c.status == psutil.CONN_ESTABLISHED
    }


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, ManagedProcess]]:
    """The real gateway (simulated board) as line1, the real bridge as `bridge`, and a second
    bridge as `bridge3`, on a broker that binds client ids as shipped."""
    workdir = Path(tmp_path_factory.mktemp("client-ids"))
    with (
        LocalBroker(workdir / "broker", plant=ATTACK_PLANT, bind_client_ids=True) as broker,
        Stack(
            workdir,
            broker=broker,
            gateway_env={"FACTORY_MQTT_URL": broker.url_for("line1")},
            bridge_env={
                "FACTORY_MQTT_URL": broker.url_for("bridge"),
                "FACTORY_BRIDGE_ID": BRIDGE_ID,
            },
        ) as stack,
    ):
        port = free_port()
        second = ManagedProcess(
            "bridge3",
            python_module("bridge"),
            workdir / "bridge3.log",
            {
                "FACTORY_MQTT_URL": broker.url_for("bridge3"),
                "FACTORY_BRIDGE_ID": "bridge-second",
                "FACTORY_HTTP_HOST": "127.0.0.1",
                "FACTORY_HTTP_PORT": str(port),
                "FACTORY_STATE_DIR": str(workdir / "bridge3-state"),
            },
        )
        with second:
            second.wait_until(
                lambda: _healthy(f"http://127.0.0.1:{port}"), timeout=60, what="bridge3 connected"
            )
            yield stack, second


def _healthy(base_url: str) -> bool:
    try:
        return requests.get(f"{base_url}/api/health", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def test_no_other_login_can_push_a_gateway_or_a_bridge_off(
    plant: tuple[Stack, ManagedProcess],
) -> None:
    stack, second_bridge = plant
    broker = stack.broker
    victims = {
        "gateway line1": stack.gateway.pid,
        "bridge": stack.bridge.pid,
        "bridge3": second_bridge.pid,
    }
    owner = {login.name: login.user.name for login in logins(broker.plant)}  # whose password
    before = {name: broker_sockets(pid, broker.port) for name, pid in victims.items()}
    assert {name: len(ports) for name, ports in before.items()} == {
        "gateway line1": 1, "bridge": 2, "bridge3": 2
    }, "each bridge holds two connections, the gateway one"  # fmt: skip

    with MqttProbe(broker.url, [t.status("line1"), t.rebirth(), BARRIER]) as watcher:
        barrier(watcher, watcher, BARRIER)
        watcher.clear()
        protocols = (MQTTProtocolVersion.MQTTv5, MQTTProtocolVersion.MQTTv311)
        for attacker, victim_id, protocol in itertools.product(ATTACKERS, VICTIM_IDS, protocols):
            outcome = try_login(
                "127.0.0.1", broker.port, attacker, broker.passwords[owner[attacker]],
                client_id=victim_id, protocol=protocol,
            )  # fmt: skip
            # Let in under its own name, or refused: either way, nobody was pushed off.
            after = {name: broker_sockets(pid, broker.port) for name, pid in victims.items()}
            assert after == before, (
                f"{attacker} connecting as {victim_id!r} ({protocol.name}, {outcome.reason}) "
                f"dropped a victim: {before} -> {after}"
            )
        barrier(watcher, watcher, BARRIER)
        # The gateway's will (offline) and a bridge's reconnect (rebirth) never came.
        assert [m.text for m in watcher.messages if m.topic == t.status("line1")] == []
        assert watcher.on_topic(t.rebirth()) == []

    answer = requests.post(
        f"{stack.base_url}/api/relays/line1/relay_2",
        json={"on": True},
        headers=stack.auth_header,
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["ok"] is True, answer.text


def test_a_login_holds_one_connection_and_its_samples_login_another(
    tmp_path: Path,
) -> None:
    """What operators must know: a second connection of one login replaces the first (so a
    plant system running twice needs two users), while a bridge's two logins stay up together.
    And without the binding, a reader does take the gateway's id: the threat is real."""
    with LocalBroker(tmp_path / "bound", plant=ATTACK_PLANT, bind_client_ids=True) as bound:
        first, second, samples = (
            _Connected(bound, "historian", "h-1"),
            _Connected(bound, "historian", "h-2"),
            _Connected(bound, "bridge", "b-1-samples", login=samples_login("bridge")),
        )
        try:
            assert first.dropped.wait(30), "a second connection of one login replaces the first"
            control = _Connected(bound, "bridge", "b-1")
            barrier_probe = MqttProbe(bound.url, [BARRIER]).start()
            try:
                barrier(barrier_probe, barrier_probe, BARRIER)
                assert not samples.dropped.is_set() and not control.dropped.is_set()
                assert not second.dropped.is_set()
            finally:
                barrier_probe.stop()
                control.close()
        finally:
            for c in (first, second, samples):
                c.close()

    with LocalBroker(tmp_path / "free", plant=ATTACK_PLANT, bind_client_ids=False) as free:
        gateway = _Connected(free, "line1", "factory-gateway-line1")
        try:
            outcome = try_login(
                "127.0.0.1", free.port, "historian", free.passwords["historian"],
                client_id="factory-gateway-line1",
            )  # fmt: skip
            assert outcome.connected
            assert gateway.dropped.wait(30), "unbound, the reader pushed the gateway off"
        finally:
            gateway.close()


class _Connected:
    """One paho client logged in as ``login`` (default: ``user``) that records being dropped."""

    def __init__(
        self, broker: LocalBroker, user: str, client_id: str, login: str | None = None
    ) -> None:
        self.dropped = threading.Event()
        connected = threading.Event()
        # No automatic reconnect: a dropped client must stay dropped for the test to see it.
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, reconnect_on_failure=False
        )
        self.client.username_pw_set(login or user, broker.passwords[user])

        def on_connect(
            _c: paho.Client, _u: object, _f: object, rc: ReasonCode, _p: Properties | None
        ) -> None:
            assert not rc.is_failure, rc
            connected.set()

        def on_disconnect(
            _c: paho.Client, _u: object, _f: object, _rc: ReasonCode, _p: Properties | None
        ) -> None:
            self.dropped.set()

        self.client.on_connect = on_connect
        self.client.on_disconnect = on_disconnect
        self.client.connect("127.0.0.1", broker.port, keepalive=30)
        self.client.loop_start()
        assert connected.wait(30), f"{login or user} could not connect"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
