"""Issue 18, item 1: a gateway on an edge Mosquitto, the bridge service on a central one,
bridged by Mosquitto itself with the configuration `factory-broker render` wrote.

What an operator checks: readings reach the dashboard and commands come back confirmed;
when the edge's link is cut, the gateway behind it is shown offline within the bridge
keepalive and commands to it are refused; when the link returns, the dashboard shows the
plant as it is, no relay moved, and no command sent during the cut ever ran.
"""

from __future__ import annotations

import json
import time
import uuid

from devtools.edge_topology import WATCHER
from devtools.mqtt_probe import MqttProbe
from devtools.waits import wait_until
from factory_core.contract import Topics
from tests.faults.faults_helpers import GW, LIGHT, PUMP
from tests.topology.edge_rig import EDGE_KEEPALIVE_S, SLOW_BOX_S, EdgeRig

topics = Topics()


def shows(on: dict[str, bool | None]) -> object:
    """A mirror check: the gateway online and every relay at the board's level, good."""

    def check(state: dict[str, object] | None) -> bool:
        if state is None:
            return False
        gateways = state["gateways"]
        relays = state["relays"]
        assert isinstance(gateways, dict) and isinstance(relays, dict)
        return bool(gateways.get(GW, {}).get("online")) and all(
            relays.get(k, {}).get("on") == level and relays[k].get("quality") == "good"
            for k, level in on.items()
        )

    return check


def test_readings_cross_the_edge_and_a_command_comes_back_confirmed(edge_rig: EdgeRig) -> None:
    client = edge_rig.mirror()
    seen = client.snapshot()
    assert seen is not None
    version = seen["devices"][f"{GW}/temperature"].get("ts")
    client.wait(
        lambda s: s is not None and s["devices"][f"{GW}/temperature"].get("ts") != version,
        timeout=30,
        what="a new temperature reading through edge and central",
    )
    before = bool(edge_rig.board.level(LIGHT))
    outcome = client.call("set_relay", {"gateway": GW, "relay": "light", "on": not before})
    assert outcome["ok"] is True, outcome
    assert outcome["on"] is (not before)
    assert edge_rig.board.level(LIGHT) is (not before)


def test_a_cut_edge_link_shows_its_gateway_offline_and_nothing_runs_late(
    edge_rig: EdgeRig,
) -> None:
    client = edge_rig.mirror()
    client.wait(shows(edge_rig.board.relays_on()), timeout=30, what="the board, before the cut")
    levels = edge_rig.board.relays_on()
    cut = time.time()
    edge_rig.topology.link.stall()  # a quiet cable: only the keepalive notices

    # The central broker publishes the edge bridge's last will after 1.5 keepalives.
    client.wait(
        lambda s: s is not None and s["gateways"][GW]["online"] is False,
        timeout=1.5 * EDGE_KEEPALIVE_S + SLOW_BOX_S,
        what="the gateway behind the cut edge shown offline",
    )
    print(f"FIGURE edge_cut_to_offline_s = {time.time() - cut:.3f}")
    # Its own offline alarm, as for a last will; its values no longer current.
    offline_alarm = f"{GW}/gateway/offline"
    client.wait(
        lambda s: (
            s is not None
            and s["alarms"].get(offline_alarm, {}).get("active") is True
            and s["relays"][f"{GW}/pump"]["quality"] == "stale"
        ),
        timeout=SLOW_BOX_S,
        what="the gateway's offline alarm raised, its relays stale",
    )

    refused = client.call(
        "set_relay", {"gateway": GW, "relay": "pump", "on": not levels[f"{GW}/pump"]}
    )
    assert refused["ok"] is False and refused["error"] == "gateway_offline", refused

    # A plant system that talks MQTT to the central broker is not refused by anyone: its
    # command (long deadline and message expiry) must still never run.
    during_cut = f"during-cut-{uuid.uuid4().hex[:8]}"
    with MqttProbe(edge_rig.topology.url_central(WATCHER), []) as plant_system:
        plant_system.publish(
            topics.relay_set(GW, "pump"),
            json.dumps(
                {"on": not levels[f"{GW}/pump"], "id": during_cut, "by": "scada",
                 "deadline": time.time() + 120}
            ),
            qos=1,
            expiry=120,
        )  # fmt: skip

    brake = topics.relay_state(GW, "brake")
    with MqttProbe(edge_rig.topology.url_central(WATCHER), [brake]) as watcher:
        # The central broker still holds the brake's state from before the cut (unchanged).
        held = json.loads(watcher.wait_for(lambda m: m.retain, what="retained brake").payload)
        restored = time.time()
        edge_rig.topology.link.pass_()
        client.wait(
            shows(levels),
            timeout=2 * EDGE_KEEPALIVE_S + SLOW_BOX_S,
            what="the gateway online again, every relay at its level on the board",
        )
        print(f"FIGURE edge_restore_to_online_s = {time.time() - restored:.3f}")
        # The bridge asked for a rebirth across the link: the gateway republished the
        # unchanged brake with a new seq (what the edge re-sends from its store has the old).
        watcher.wait_for(
            lambda m: not m.retain and json.loads(m.payload)["seq"] > held["seq"],
            timeout=SLOW_BOX_S,
            what="the brake republished after the rebirth",
        )
    client.wait(
        lambda s: s is not None and s["alarms"][offline_alarm]["active"] is False,
        timeout=SLOW_BOX_S,
        what="the offline alarm back to normal",
    )

    # A command after the link is back travels the same path: once it is confirmed, any
    # command queued from the cut would have arrived before it.
    witness = client.call(
        "set_relay", {"gateway": GW, "relay": "light", "on": not levels[f"{GW}/light"]}
    )
    assert witness["ok"] is True, witness
    moved = [m["pin"] for m in edge_rig.board.moves(since=cut)]
    assert moved == [LIGHT], f"only the witness may move a relay, moved pins: {moved}"
    assert edge_rig.board.level(PUMP) is levels[f"{GW}/pump"]
    assert not [line for line in edge_rig.gateway_audit() if during_cut in line]
    wait_until(
        lambda: edge_rig.api("/api/gateways")["gateways"][GW]["online"],
        timeout=SLOW_BOX_S,
        what="HTTP agrees",
    )
