"""Socket.IO and HTTP against a real bridge process, a real Mosquitto and a gateway on the wire."""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
import requests
from bridge_helpers import FakeGateway, LiveClient
from paho.mqtt.client import MQTTv311
from paho.mqtt.enums import CallbackAPIVersion

from devtools.dashboard_mirror import apply_delta
from devtools.waits import wait_until
from factory_core.settings import parse_mqtt_url


def test_full_state_on_connect_then_versioned_deltas(bridges, gateway: FakeGateway, clients):
    gateway.publish_device("temperature", 20.5)
    bridge = bridges()
    client: LiveClient = clients(bridge)
    client.wait(lambda: "line1/relay_1" in client.state["relays"], "retained state")
    state = client.state
    assert state["gateways"]["line1"]["online"] is True
    assert state["gateways"]["line1"]["name"] == "Fake line1"
    assert state["relays"]["line1/relay_1"]["on"] is False
    assert state["relays"]["line1/relay_1"]["name"] == "Relay 1"
    client.wait(lambda: client.item("devices", "line1/temperature")["value"] == 20.5, "retained")

    before = client.version
    gateway.publish_device("temperature", 21.25)
    client.wait(lambda: client.item("devices", "line1/temperature")["value"] == 21.25, "delta")
    device = client.item("devices", "line1/temperature")
    assert device["quality"] == "good" and device["ts"] > 0 and device["name"] == "Temperature"
    deltas = client.received("devices_update")
    assert deltas[-1]["prev"] >= before and deltas[-1]["version"] > deltas[-1]["prev"]
    assert client.gaps == 0

    # What the client holds is what the bridge holds: same values at the same version.
    server = bridge.get("/api/state").json()
    client.wait(lambda: client.version == server["version"] or client.version > server["version"])
    assert server["devices"]["line1/temperature"]["value"] == 21.25
    assert [p[1] for p in server["history"]["line1/temperature"]][-1] == 21.25


def test_polling_transport_gets_state_and_deltas(bridges, gateway: FakeGateway, clients):
    bridge = bridges()
    client = clients(bridge, ["polling"])
    assert client.sio.transport() == "polling"
    gateway.publish_device("humidity", 55)
    client.wait(lambda: (client.item("devices", "line1/humidity") or {}).get("value") == 55)
    assert client.gaps == 0


def test_requests_answer_full_state_of_each_kind(bridges, gateway: FakeGateway, clients):
    gateway.publish_system(12.5)
    bridge = bridges()
    client = clients(bridge)
    client.wait(lambda: "line1" in client.state["system_stats"], "gateway stats")
    devices = client.call("request_devices")
    assert set(devices) == {"version", "devices"}
    assert set(devices["devices"]) == {"line1/temperature", "line1/humidity"}
    relays = client.call("request_relays")
    assert set(relays["relays"]) == {"line1/relay_1", "line1/relay_2"}
    stats = client.call("request_system_stats")
    assert stats["system_stats"]["line1"]["cpu"] == 12.5
    # The bridge's own process stats, at its own rate.
    client.wait(lambda: "bridge" in client.state["system_stats"], "bridge stats")
    assert client.state["system_stats"]["bridge"]["memory"] > 0
    full = client.call("request_state")
    assert full["version"] >= devices["version"] and "history" in full
    # As the seed did: the answers are also pushed as events, without prev.
    client.wait(lambda: any("prev" not in d for d in client.received("relays_update")))
    for kind in ("devices", "relays", "system_stats", "gateways"):
        answer = bridge.get(f"/api/{kind}").json()
        assert set(answer) == {"version", kind}


SEED_CLIENT = Path(__file__).with_name("seed_client.mjs")


@pytest.mark.slow
@pytest.mark.timeout(300)  # when answers are missing, each connect waits out its 2 s
def test_seed_style_client_gets_all_three_answers_on_every_connect(bridges, gateway: FakeGateway):
    """A client written like the seed's (socket.io-client; asks with request_* right after
    connect, listens only for the *_update events) gets every answer as its event, also
    while its full state is still queued for it: 50 connects in a row, each within 1 s."""
    gateway.publish_system(3.5)
    # No stats of the bridge's own in the run: a system_stats_update must be the answer.
    bridge = bridges(FACTORY_BRIDGE_STATS_INTERVAL="3600")
    wait_until(lambda: "line1" in bridge.get("/api/system_stats").json()["system_stats"])
    node = shutil.which("node")
    assert node is not None, "the seed-style client runs on Node.js"
    run = subprocess.run(
        [node, str(SEED_CLIENT), "--url", bridge.url, "--connects", "50", "--timeout", "2"],
        env={**os.environ, "FACTORY_TOKEN": bridge.tokens["viewer"]},
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    connects = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(connects) == 50, run.stdout
    wanted = {"devices_update", "relays_update", "system_stats_update"}
    failed = [
        c
        for c in connects
        if c["error"] or set(c["events"]) != wanted or max(c["events"].values()) > 1.0
    ]
    assert not failed, f"{len(failed)} of 50 connects without all three within 1 s: {failed[:5]}"


def test_gap_detection_and_polling_catch_up(bridges, gateway: FakeGateway, clients):
    bridge = bridges(FACTORY_EVENT_BUFFER="5")
    client = clients(bridge)
    held = client.version
    gateway.publish_device("temperature", 1.0)
    client.wait(lambda: client.version > held)
    answer = bridge.get("/api/events", params={"since": held}).json()
    assert answer["version"] >= held + 1
    first = answer["events"][0]
    assert first["event"] == "devices_update" and first["data"]["prev"] == held
    assert bridge.get("/api/events", params={"since": answer["version"]}).json()["events"] == []

    for value in range(10):  # more changes than the ring holds
        gateway.publish_device("humidity", value)
    client.wait(lambda: client.item("devices", "line1/humidity")["value"] == 9)
    assert bridge.get("/api/events", params={"since": held}).json() == {
        "version": bridge.get("/api/state").json()["version"],
        "resync": True,
    }
    future = bridge.get("/api/events", params={"since": 10**6}).json()
    assert future["resync"] is True
    # A client that missed something asks for the whole state and continues from there.
    full = client.call("request_state")
    assert full["devices"]["line1/humidity"]["value"] == 9
    bad = bridge.get("/api/events", params={"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.json()["detail"]


def test_gateway_death_makes_its_values_stale_for_every_client(
    bridges, gateway: FakeGateway, clients
):
    gateway.publish_device("temperature", 30.0)
    gateway.publish_system(5.0)
    bridge = bridges()
    one, two = clients(bridge), clients(bridge, ["polling"])
    for c in (one, two):
        c.wait(lambda c=c: c.item("devices", "line1/temperature")["value"] == 30.0)
    gateway.crash()  # the broker publishes its last will: status offline
    for c in (one, two):
        c.wait(lambda c=c: c.state["gateways"]["line1"]["online"] is False, "offline")
        c.wait(lambda c=c: c.item("devices", "line1/temperature")["quality"] == "stale")
        c.wait(lambda c=c: c.item("relays", "line1/relay_1")["quality"] == "stale")
        assert c.item("devices", "line1/temperature")["value"] == 30.0  # last known, marked
        c.wait(lambda c=c: c.state["system_stats"]["line1"]["quality"] == "stale")
        assert c.gaps == 0
    state = bridge.get("/api/state").json()
    assert state["devices"]["line1/humidity"]["quality"] == "stale"
    assert bridge.get("/api/health").json()["gateways_online"] == []


def test_coalescing_burst_arrives_as_few_messages_with_exact_final_values(
    bridges, gateway: FakeGateway, clients
):
    bridge = bridges(FACTORY_COALESCE_MS="200")
    client = clients(bridge)
    burst = 3000
    for i in range(burst):
        gateway.publish_device("temperature" if i % 2 else "humidity", i, qos=0)
    gateway.publish_device("temperature", 99999, qos=1)
    gateway.publish_device("humidity", -1, qos=1)
    client.wait(lambda: client.item("devices", "line1/temperature")["value"] == 99999)
    client.wait(lambda: client.item("devices", "line1/humidity")["value"] == -1)
    messages = client.received("devices_update")
    assert len(messages) < burst // 10, f"{len(messages)} messages for {burst} updates"
    assert client.gaps == 0
    # Each message holds at most one entry per device: newest value per key.
    assert all(len(m["devices"]) <= 2 for m in messages)
    applied = bridge.metric("factory_bridge_state_changes_total")
    assert applied > len(messages)


def test_bridge_asks_gateways_to_republish_on_start(bridges, probe):
    bridges()
    rebirth = probe.wait_for(lambda m: m.topic == "factory/rebirth", what="rebirth")
    assert rebirth.payload == b""


def test_malformed_mqtt_is_dropped_counted_and_harmless(bridges, gateway: FakeGateway, probe):
    bridge = bridges()
    probe.publish("factory/line1/devices/temperature/state", b"{not json")
    probe.publish("factory/line1/devices/temperature/state", json.dumps({"value": "hot"}))
    probe.publish("factory/LINE!/status", b"online")
    probe.publish("factory/line1/devices/Not-An-Id/state", b"{}")
    wait_until(lambda: bridge.metric('factory_bridge_mqtt_dropped_total{reason="payload"}') == 2)
    wait_until(lambda: bridge.metric('factory_bridge_mqtt_dropped_total{reason="topic"}') == 2)
    assert "dropped a message" in bridge.proc.log()
    gateway.publish_device("temperature", 7)
    wait_until(
        lambda: bridge.get("/api/devices").json()["devices"]["line1/temperature"]["value"] == 7
    )
    assert bridge.get("/api/health").status_code == 200


def test_history_endpoint(bridges, gateway: FakeGateway):
    bridge = bridges()
    for value in (1.0, 2.0, 3.0):
        gateway.publish_device("temperature", value)
    wait_until(
        lambda: bridge.get("/api/devices").json()["devices"]["line1/temperature"]["value"] == 3.0
    )
    answer = bridge.get("/api/devices/line1/temperature/history").json()
    assert answer["key"] == "line1/temperature"
    assert answer["points"][-1][1] == 3.0 and 1 <= len(answer["points"]) <= 300
    missing = bridge.get("/api/devices/line1/nope/history")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_losing_one_of_the_two_broker_connections_resyncs_both(
    bridges, broker, gateway: FakeGateway, clients
):
    """The bridge reads samples and control messages on two connections. When the broker
    takes one away (here: another client takes over its client id), the bridge shows the
    plant as unknown, reconnects both, and the retained state and new samples flow again."""
    bridge = bridges(FACTORY_BRIDGE_ID="bridge-under-test")
    client: LiveClient = clients(bridge)
    client.wait(lambda: client.state["gateways"].get("line1", {}).get("online"), "online")
    address = parse_mqtt_url(broker.url)
    intruder = paho.Client(
        CallbackAPIVersion.VERSION2, client_id="bridge-under-test-samples", protocol=MQTTv311
    )
    intruder.username_pw_set(address.username, address.password)
    intruder.connect(address.host, address.port)
    intruder.loop_start()
    try:
        client.wait(
            lambda: client.item("gateways", "line1")["online"] is False, "the loss is shown"
        )
    finally:
        intruder.disconnect()
        intruder.loop_stop()
    client.wait(lambda: client.item("gateways", "line1")["online"] is True, "online again")
    gateway.publish_device("temperature", 33.5)
    client.wait(lambda: client.item("devices", "line1/temperature")["value"] == 33.5, "samples")
    assert bridge.metric("factory_bridge_mqtt_connected") == 1


class PollingReader:
    """A Socket.IO client on Engine.IO's polling transport that reads only when told to: its
    packets wait in the bridge's queue meanwhile, as they do for a slow or frozen browser."""

    def __init__(self, url: str, token: str) -> None:
        self.http = requests.Session()
        self.base = url + "/socket.io/?EIO=4&transport=polling"
        handshake = self.http.get(self.base, timeout=15)
        handshake.raise_for_status()
        self.base += "&sid=" + json.loads(handshake.text[1:])["sid"]
        self.http.post(self.base, data="40" + json.dumps({"token": token}), timeout=15)
        self.state: dict[str, Any] | None = None
        self.deltas: list[tuple[str, dict[str, Any]]] = []

    def read(self) -> str:
        """One poll: every packet queued for it (waits for one when none is)."""
        answer = self.http.get(self.base, timeout=40)
        answer.raise_for_status()
        for packet in answer.text.split("\x1e"):
            if packet.startswith("42"):
                event, data = json.loads(packet[2:])
                if event == "state":
                    self.state = data
                else:
                    self.deltas.append((event, data))
                    assert self.state is not None, "a delta before the state"
                    assert apply_delta(self.state, event, data), f"gap: {data}"
        return answer.text


def test_a_slow_reader_gets_its_own_chain_when_it_reads_and_a_frozen_one_is_cut(
    bridges, gateway: FakeGateway, clients
):
    bridge = bridges(FACTORY_CLIENT_STUCK_S="6")  # the shipped coalescing: no clock
    live: LiveClient = clients(bridge)
    slow = PollingReader(bridge.url, bridge.tokens["viewer"])
    frozen = PollingReader(bridge.url, bridge.tokens["viewer"])
    # The slow one has its state (a client is written to only once its queue is empty: the
    # state follows the CONNECT packet once that was read), then stops reading.
    while slow.state is None:
        slow.read()
    changes = 200
    for value in range(changes):
        gateway.publish_device("temperature", value, qos=0)
    gateway.publish_device("temperature", -1.5)
    # A reading client is not held back by the two that are not reading.
    live.wait(lambda: live.item("devices", "line1/temperature")["value"] == -1.5, "last value")
    assert live.gaps == 0
    # The slow one reads at last: its state, then its own chain up to the newest values,
    # merged while it was not reading (far fewer messages than changes).
    while (slow.state or {}).get("devices", {}).get("line1/temperature", {}).get("value") != -1.5:
        slow.read()
    assert 0 < len(slow.deltas) < changes // 4
    # The frozen one never reads: it is cut once its queue has been full for 6 s.
    wait_until(
        lambda: bridge.metric("factory_bridge_clients_disconnected_stuck_total") == 1, 30, "cut"
    )
    assert "it has not read for 6.0 s" in bridge.proc.log()
    assert bridge.metric("factory_bridge_clients_connected") == 2
    with pytest.raises(requests.HTTPError):
        frozen.read()  # its Engine.IO session is gone: it must connect again
    gateway.publish_device("humidity", 42)
    while slow.state["devices"]["line1/humidity"].get("value") != 42:
        slow.read()


class FrozenWebSocket:
    """A Socket.IO client on a raw WebSocket with a small receive buffer that stops reading
    after connecting: what a browser tab on a slow machine or link looks like to the bridge."""

    def __init__(self, url: str, token: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(30)
        self.sock.connect((host, int(port)))
        self.sock.sendall(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.send("40" + json.dumps({"token": token}))

    def send(self, text: str) -> None:
        data, mask = text.encode(), os.urandom(4)
        assert len(data) < 126
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(bytes([0x81, 0x80 | len(data)]) + mask + masked)

    def _exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            assert chunk, "the bridge closed the connection"
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def message(self) -> str:
        """The next text frame (the bridge sends each message in one unmasked frame), checked
        to be one whole Engine.IO packet."""
        first, length = self._exactly(2)
        assert first == 0x81, f"not a whole, uncompressed text frame: {first:#x}"
        assert length & 0x80 == 0, "a server frame must not be masked"
        if length == 126:
            length = struct.unpack("!H", self._exactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._exactly(8))[0]
        text = self._exactly(length).decode()
        assert text[:1] in "0123456", f"not an Engine.IO packet: {text[:40]!r}"
        return text


def test_a_websocket_reader_slower_than_the_pushes_gets_them_merged_not_buried(
    bridges, gateway: FakeGateway, clients
):
    """Issue 19: a WebSocket client that stops reading is merged once its socket and queue are
    full — newest value per key, not thousands of stale pushes — and the others are not held
    back. Its pushes are written straight to its socket while it can take them; the frame the
    kernel took only in part is finished before anything else, so every frame it reads at
    last is whole."""
    bridge = bridges()
    live: LiveClient = clients(bridge)
    frozen = FrozenWebSocket(bridge.url, bridge.tokens["viewer"])
    wait_until(lambda: bridge.metric("factory_bridge_clients_connected") == 2, 30, "connected")
    changes = 3000
    for value in range(changes):
        gateway.publish_device("temperature", value, qos=0)
    gateway.publish_device("temperature", -2.5)
    live.wait(lambda: live.item("devices", "line1/temperature")["value"] == -2.5, "last value")
    assert live.gaps == 0
    assert bridge.metric("factory_bridge_updates_out_direct_total") > 0
    # It reads at last: everything it was sent, then the newest values, merged meanwhile.
    updates = 0
    while True:
        message = frozen.message()
        if message.startswith('42["devices_update"'):
            updates += 1
            if '"value":-2.5' in message.replace(" ", ""):
                break
    assert updates < changes // 4, f"{updates} devices_update for {changes} changes"
    frozen.sock.close()
