"""Trust, item 3: a gateway that stops speaking without disconnecting is shown as silent.

The rule in the store (pure, no clock of its own) and then the real thing: a simulated
gateway process stopped with SIGSTOP, a real Mosquitto, a bridge process, and the clients
its users write (Socket.IO, HTTP).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from bridge_helpers import LiveClient, RunningBridge
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.api.routes import STATUS_FOR_ERROR
from bridge.state.store import Store
from devtools.local_broker import LocalBroker
from devtools.procs import ManagedProcess, python_module
from devtools.waits import wait_until
from factory_core.contract import (
    MIN_SILENCE_S,
    SILENT_AFTER_INTERVALS,
    ErrorCode,
    Topics,
    decode,
    silence_window,
)

T = Topics()
GW = "line1"
REPO = Path(__file__).resolve().parents[2]


def msg(topic: str, payload: str) -> Any:
    return decode(T, topic, payload.encode())


def meta(stats_interval_s: float | None = None) -> Any:
    declared = "" if stats_interval_s is None else f', "stats_interval_s": {stats_interval_s}'
    return msg(
        T.meta(GW),
        '{"version": "1", "devices": [{"id": "temperature", "name": "Oven", "kind": '
        '"temperature"}, {"id": "door", "name": "Door", "kind": "digital_input"}], '
        f'"relays": [{{"id": "relay_1", "name": "Motor"}}]{declared}}}',
    )


def stats(ts: float = 1.0) -> Any:
    return msg(T.system(GW), f'{{"cpu": 1, "memory": 2, "disk": 3, "uptime": 4, "ts": {ts}}}')


def speaking_gateway(now: float = 0.0, stats_interval_s: float | None = 2.0) -> Store:
    store = Store(first_version=0)
    store.apply(msg(T.status(GW), "online"), now)
    store.apply(meta(stats_interval_s), now)
    store.apply(msg(T.device_state(GW, "temperature"), '{"value": 20, "ts": 1, "seq": 1}'), now)
    bad = '{"value": null, "ts": 1, "seq": 2, "quality": "bad"}'
    store.apply(msg(T.device_state(GW, "door"), bad), now)
    store.apply(msg(T.relay_state(GW, "relay_1"), '{"on": true, "ts": 1, "seq": 3}'), now)
    store.apply(stats(), now)
    return store


# --------------------------------------------------------------------------- the rule


def test_the_silence_window_is_three_declared_intervals_and_never_under_five_seconds() -> None:
    assert SILENT_AFTER_INTERVALS == 3 and MIN_SILENCE_S == 5.0
    assert silence_window(None) is None, "no cadence declared: it cannot be judged"
    assert silence_window(2.0) == 6.0
    assert silence_window(10.0) == 30.0
    assert silence_window(0.1) == 5.0


def test_a_connected_gateway_that_stops_speaking_turns_silent_and_its_values_stale() -> None:
    store = speaking_gateway(now=100.0)
    entry = store.gateways[GW]
    assert (entry["status"], entry["online"], entry["silent_since"]) == ("online", True, None)
    assert entry["silent_after"] == 6.0
    assert store.check_silence(105.9) == [], "within its window"

    deltas = store.check_silence(106.0)

    gateway = store.gateways[GW]
    assert gateway["status"] == "silent" and gateway["online"] is True
    assert gateway["silent_since"] == 100.0, "since the last message, not since detection"
    assert store.silent_since(GW) == 100.0
    assert {d.event for d in deltas} == {
        "gateways_update", "devices_update", "relays_update", "system_stats_update",
        "alarms_update",
    }  # fmt: skip
    # Its silent alarm is raised, derived from MQTT facts like the silence itself.
    silent = store.alarms[f"{GW}/gateway/silent"]
    assert (silent["state"], silent["priority"], silent["since"]) == ("unacked", "high", 106.0)
    assert store.devices[f"{GW}/temperature"]["quality"] == "stale"
    assert store.devices[f"{GW}/temperature"]["value"] == 20, "the last value stays shown"
    assert store.relays[f"{GW}/relay_1"]["quality"] == "stale"
    assert store.system_stats[GW]["quality"] == "stale"
    assert store.gateways_online() == [] and store.gateways_silent() == [GW]
    assert store.check_silence(200.0) == [], "said once"


def test_any_message_of_its_own_ends_the_silence_and_restores_each_quality() -> None:
    store = speaking_gateway(now=0.0)
    store.check_silence(10.0)

    result = '{"id": "c1", "ok": true, "on": true}'
    deltas = store.apply(msg(T.relay_result(GW, "relay_1"), result), now=12.0)

    assert store.gateways[GW]["status"] == "online"
    assert store.gateways[GW]["silent_since"] is None and store.silent_since(GW) is None
    assert {d.event for d in deltas} >= {"gateways_update", "devices_update"}
    assert store.devices[f"{GW}/temperature"]["quality"] == "good"
    assert store.devices[f"{GW}/door"]["quality"] == "bad", "as it was reported"
    assert store.relays[f"{GW}/relay_1"]["quality"] == "good"
    assert store.system_stats[GW]["quality"] == "good"
    assert store.gateways_online() == [GW] and store.gateways_silent() == []
    assert store.check_silence(17.9) == [], "the window starts again at the new message"
    assert store.check_silence(18.0) != []


def test_commands_from_bridges_and_its_last_will_do_not_count_as_speaking() -> None:
    store = speaking_gateway(now=0.0)
    command = '{"on": true, "id": "c1", "deadline": 99}'
    store.apply(msg(T.relay_set(GW, "relay_1"), command), now=5.0)
    assert store.check_silence(6.0) != [], "a command to it proves nothing about it"

    store.apply(msg(T.status(GW), "offline"), now=7.0)
    entry = store.gateways[GW]
    assert (entry["status"], entry["online"], entry["silent_since"]) == ("offline", False, None)
    assert store.gateways_silent() == [] and store.check_silence(100.0) == []
    assert store.devices[f"{GW}/temperature"]["quality"] == "stale"


def test_the_declared_stats_interval_sets_the_window() -> None:
    store = speaking_gateway(now=0.0, stats_interval_s=10.0)
    assert store.gateways[GW]["silent_after"] == 30.0
    assert store.check_silence(29.0) == []
    assert store.check_silence(30.0) != []


def test_a_device_that_declares_no_cadence_is_never_judged_silent() -> None:
    """A field device publishing on change only (docs/mqtt-contract.md) stays online."""
    store = speaking_gateway(now=0.0, stats_interval_s=None)
    assert store.gateways[GW]["silent_after"] is None
    assert store.check_silence(10_000.0) == [] and store.gateways[GW]["status"] == "online"


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 20), st.sampled_from(["stats", "check", "offline", "online"])),
        max_size=30,
    )
)
def test_the_same_mqtt_facts_give_every_bridge_the_same_verdict(
    steps: list[tuple[float, str]],
) -> None:
    """Silence is a function of the messages and their arrival times alone: two bridges
    that see the same ones agree, and silent always means connected and not heard from."""
    bridges = [speaking_gateway(), speaking_gateway()]
    now = 0.0
    for gap, what in steps:
        now += gap
        for store in bridges:
            if what == "check":
                store.check_silence(now)
            elif what == "stats":
                store.apply(stats(now), now)
            else:
                store.apply(msg(T.status(GW), what), now)
    first, second = bridges
    assert first.gateways == second.gateways and first.devices == second.devices
    entry = first.gateways[GW]
    if entry["status"] == "silent":
        assert entry["online"] is True and now - entry["silent_since"] >= entry["silent_after"]


def test_every_error_code_is_listed_wherever_error_codes_are_listed() -> None:
    codes = set(get_args(ErrorCode))
    assert "gateway_silent" in codes
    spec = json.loads((REPO / "docs" / "openapi.json").read_text())
    error = spec["components"]["schemas"]["Outcome"]["properties"]["error"]
    assert codes <= {code for option in error["anyOf"] for code in option.get("enum", [])}
    api_doc = (REPO / "docs" / "api.md").read_text()
    assert [c for c in sorted(codes) if f"`{c}`" not in api_doc] == []
    assert STATUS_FOR_ERROR["gateway_silent"] == 503
    assert "gateway_silent" in (REPO / "docs" / "troubleshooting.md").read_text()
    # The dashboard's words for each code: RelaySwitch.tsx's Record<ErrorCode, string> (tsc).


# --------------------------------------------------------------------------- the real thing


@pytest.fixture
def gateway_process(broker: LocalBroker, tmp_path: Path) -> Iterator[ManagedProcess]:
    """The simulated board as its own process. Its keepalive is long, so that the broker
    keeps the stopped process's connection (and sends no last will) for the whole test."""
    env = {
        "FACTORY_MQTT_URL": broker.url,
        "FACTORY_STATE_DIR": str(tmp_path / "gateway-state"),
        "FACTORY_MQTT_KEEPALIVE": "120",
    }
    proc = ManagedProcess(
        "gateway", python_module("gateway", "--simulate"), tmp_path / "gw.log", env
    )
    proc.start()
    try:
        yield proc
    finally:
        # A stopped process cannot act on SIGTERM: it is continued first, always.
        with contextlib.suppress(ProcessLookupError):
            proc.signal(signal.SIGCONT)
        proc.stop()


def qualities(client: LiveClient) -> set[str]:
    """The qualities of everything the client shows for the gateway: values, relays, stats."""
    state = client.state
    assert state is not None
    entries = [e for f in ("devices", "relays") for k, e in state[f].items() if k.startswith(GW)]
    return {e["quality"] for e in [*entries, state["system_stats"][GW]]}


def gateway_entry(bridge: RunningBridge) -> dict[str, Any]:
    entry: dict[str, Any] = bridge.get("/api/gateways", role="viewer").json()["gateways"][GW]
    return entry


def test_a_stopped_gateway_is_silent_everywhere_refuses_commands_and_recovers(
    gateway_process: ManagedProcess,
    bridges: Callable[..., RunningBridge],
    clients: Callable[..., LiveClient],
) -> None:
    bridge = bridges()
    client = clients(bridge)
    client.wait(
        lambda: (
            (client.item("gateways", GW) or {}).get("status") == "online"
            and client.item("relays", f"{GW}/relay_1") is not None
            and client.item("relays", f"{GW}/relay_1")["on"] is not None
        ),  # type: ignore[index]
        "the simulated gateway online with its relays",
        timeout=60,
    )
    assert gateway_entry(bridge)["silent_after"] == 6.0, "from the interval its meta declares"
    relay_on = client.item("relays", f"{GW}/relay_1")["on"]  # type: ignore[index]

    stopped_at = time.time()
    os.kill(gateway_process.pid, signal.SIGSTOP)

    # Socket.IO: a gateways_update says silent, the values turn stale.
    client.wait(
        lambda: client.item("gateways", GW)["status"] == "silent",  # type: ignore[index]
        "the Socket.IO client told the gateway is silent",
        timeout=30,
    )
    print(f"silent {time.time() - stopped_at:.1f} s after SIGSTOP")
    pushed = client.item("gateways", GW)
    assert pushed is not None and pushed["online"] is True, "still connected: not offline"
    assert stopped_at - 3.0 <= pushed["silent_since"] <= stopped_at + 1.0
    client.wait(lambda: qualities(client) == {"stale"}, "all its values marked stale")

    # HTTP: the entry, the health answer and the metrics say the same.
    entry = gateway_entry(bridge)
    assert entry["status"] == "silent" and entry["silent_since"] == pushed["silent_since"]
    health = bridge.get("/api/health", role=None).json()
    assert health["gateways_silent"] == [GW] and health["gateways_online"] == []
    assert bridge.metric('factory_bridge_gateways{status="silent"}') == 1

    # Commands are refused, over HTTP and Socket.IO, naming the gateway and since when.
    answer = bridge.post(f"/api/relays/{GW}/relay_1", role="operator", json={"on": False})
    assert answer.status_code == 503
    refused = answer.json()
    assert refused["ok"] is False and refused["error"] == "gateway_silent" and refused["id"] is None
    assert refused["on"] is relay_on, "the state last read back, not the one asked for"
    assert f"gateway {GW} is silent" in refused["detail"] and "since" in refused["detail"]
    assert "UTC" in refused["detail"]
    ack = client.call("set_relay", {"gateway": GW, "relay": "relay_1", "on": False})
    assert ack["error"] == "gateway_silent" and ack["ok"] is False

    os.kill(gateway_process.pid, signal.SIGCONT)
    continued_at = time.time()

    client.wait(
        lambda: client.item("gateways", GW)["status"] == "online",  # type: ignore[index]
        "online again once it speaks",
        timeout=30,
    )
    print(f"online {time.time() - continued_at:.2f} s after SIGCONT")
    client.wait(lambda: qualities(client) == {"good"}, "its values current again")
    assert gateway_entry(bridge)["status"] == "online"
    assert bridge.get("/api/health", role=None).json()["gateways_online"] == [GW]
    done = bridge.post(f"/api/relays/{GW}/relay_1", role="operator", json={"on": not relay_on})
    assert done.status_code == 200, done.text
    assert done.json()["ok"] is True and done.json()["on"] is (not relay_on)
    wait_until(
        lambda: bridge.metric('factory_bridge_gateways{status="online"}') == 1, what="metrics"
    )
