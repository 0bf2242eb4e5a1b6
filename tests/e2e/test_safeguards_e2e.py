"""Relay safeguards end to end, through the dashboard's API: a real Mosquitto, the simulated
gateway process with the demo board (relay_5 "Oven heater" needs relay_4 "Exhaust fan" and
asks for confirmation) and a bridge process; Socket.IO clients and HTTP as a script uses it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.sio_probe import SioProbe
from devtools.stack import Stack

GW = "line1"
HEATER, FAN, LIGHT = f"{GW}/relay_5", f"{GW}/relay_4", f"{GW}/relay_3"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(Path(tmp_path_factory.mktemp("stack"))) as s:
        yield s


def client(stack: Stack, token: str | None = None) -> SioProbe:
    return SioProbe(stack.base_url, token=token or stack.api_token)


def relay(probe: SioProbe, key: str) -> dict[str, Any]:
    """The relay as the page holds it: the full state, then every delta on top."""
    entry: dict[str, Any] = {}
    for pushed in probe.events:
        if pushed.event == "state":
            entry = dict(pushed.data["relays"].get(key, {}))
        elif pushed.event == "relays_update" and key in pushed.data.get("relays", {}):
            entry = {**entry, **pushed.data["relays"][key]}
    return entry


def wait_relay(probe: SioProbe, key: str, **expected: Any) -> dict[str, Any]:
    """Until the page's relay has every ``expected`` value (``...``: any but None)."""

    def matches(_data: object = None) -> bool:
        got = relay(probe, key)
        return all(
            got.get(k) is not None if v is ... else got.get(k) == v for k, v in expected.items()
        )

    if not matches():
        probe.wait_for("relays_update", matches, timeout=20)
    return relay(probe, key)


def set_relay(probe: SioProbe, key: str, on: bool, **extra: Any) -> dict[str, Any]:
    gw, rid = key.split("/")
    answer: dict[str, Any] = probe.call(
        "set_relay", {"gateway": gw, "relay": rid, "on": on, **extra}
    )
    return answer


def test_the_interlock_and_confirm_flag_reach_the_dashboard_and_the_gateway_enforces_it(
    stack: Stack,
) -> None:
    with client(stack) as alice:
        state = alice.wait_for("state").data
        rules = state["gateways"][GW]["interlocks"]
        assert rules == [
            {
                "id": "heater_needs_fan",
                "kind": "requires",
                "relay": "relay_5",
                "other": "relay_4",
                "state": True,
                "text": "relay_5 may be on only while relay_4 is on",
            }
        ]
        assert state["relays"][HEATER]["confirm"] is True
        assert state["relays"][FAN]["confirm"] is False
        set_relay(alice, FAN, False)
        refused = set_relay(alice, HEATER, True, confirmed=True)
        assert (refused["ok"], refused["error"], refused["on"]) == (False, "interlocked", False)
        assert refused["detail"].startswith("interlock heater_needs_fan:")
        assert set_relay(alice, FAN, True)["ok"]
        assert set_relay(alice, HEATER, True, confirmed=True)["ok"]
        assert set_relay(alice, FAN, False)["ok"]
        tripped = wait_relay(alice, HEATER, on=False, reason="trip")
        assert tripped["rule"] == "heater_needs_fan"
        assert tripped["cycles"] >= 1 and tripped["on_time_s"] > 0
    audit = requests.get(
        f"{stack.base_url}/api/audit",
        params={"relay": "relay_5", "outcome": "ok"},
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=15,
    ).json()["entries"]
    assert audit[0]["confirmed"] is True and audit[0]["action"] == "set_relay"

    # The gateway measures itself: the last command's receipt-to-read-back time, in the
    # system stats it sends next.
    def latency() -> float | None:
        value: float | None = stack.api("/api/state")["system_stats"][GW].get("command_latency_s")
        return value

    stack.bridge.wait_until(
        lambda: latency() is not None, timeout=20, what="the command latency in its system stats"
    )
    assert 0 < (latency() or 0) < 5


def test_a_lock_holds_against_everyone_survives_every_restart_and_only_its_author_or_an_admin_lifts_it(  # noqa: E501
    stack: Stack,
) -> None:
    with client(stack) as alice:
        alice.wait_for("state")
        locked = alice.call(
            "lock_relay", {"gateway": GW, "relay": "relay_3", "lock": True, "reason": "new bulb"}
        )
        assert locked["ok"], locked
        entry = wait_relay(alice, LIGHT, lock=...)
        assert entry["lock"]["by"] == "token:stack-operator"
        assert entry["lock"]["reason"] == "new bulb"
        refused = set_relay(alice, LIGHT, True)
        assert refused["error"] == "locked" and "token:stack-operator" in refused["detail"]

    for restart in ("bridge", "broker", "gateway"):
        if restart == "bridge":
            stack.bridge.stop()
            stack.bridge.start()
        elif restart == "broker":
            stack.broker.restart(wipe_persistence=True)  # as with persistence off
        else:
            stack.gateway.stop()
            stack.gateway.start()
        stack.bridge.wait_until(
            lambda: (
                (stack.api("/api/state")["relays"][LIGHT].get("lock") or {}).get("by")
                == "token:stack-operator"
                and stack.api("/api/gateways")["gateways"][GW]["online"] is True
            ),
            timeout=40,
            what=f"the lock shown again after the {restart} restarted",
        )

    # Another operator (the dashboard login) may not lift it; an admin may.
    name, password = stack.operator_credentials
    session = requests.Session()
    login = session.post(
        f"{stack.base_url}/api/auth/login",
        json={"username": name, "password": password},
        timeout=15,
    )
    session.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    other = session.post(
        f"{stack.base_url}/api/relays/{GW}/relay_3/lock",
        json={"lock": False},
        headers={"Origin": stack.base_url},
        timeout=15,
    )
    assert other.status_code == 403 and other.json()["error"] == "forbidden", other.text
    assert "only token:stack-operator or an admin may unlock it" in other.json()["detail"]
    admin = requests.post(
        f"{stack.base_url}/api/relays/{GW}/relay_3/lock",
        json={"lock": False},
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=15,
    )
    assert admin.status_code == 200 and admin.json()["ok"], admin.text
    audit = requests.get(
        f"{stack.base_url}/api/audit",
        params={"relay": "relay_3"},
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=15,
    ).json()["entries"]
    actions = [(e["action"], e["outcome"], e["user"]) for e in audit[:3]]
    assert actions == [
        ("unlock", "ok", "token:stack-admin"),
        ("unlock", "forbidden", name),
        ("set_relay", "locked", "token:stack-operator"),
    ]


def test_all_to_safe_plant_wide_drives_every_relay_and_answers_per_gateway(
    stack: Stack,
) -> None:
    with client(stack) as alice:
        alice.wait_for("state")
        assert set_relay(alice, FAN, True)["ok"]
        assert set_relay(alice, f"{GW}/relay_1", True)["ok"]
        answer = alice.call("all_to_safe", {})
        assert answer["ok"] is True, answer
        assert answer["gateways"][GW]["ok"] is True
        assert "every relay at its safe state" in answer["gateways"][GW]["detail"]
        for n in range(1, 6):
            wait_relay(alice, f"{GW}/relay_{n}", on=False)
        assert relay(alice, FAN)["reason"] == "all_to_safe"
    unknown = requests.post(
        f"{stack.base_url}/api/all-to-safe",
        json={"gateway": "nowhere"},
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=15,
    )
    assert unknown.status_code == 409
    assert unknown.json()["gateways"]["*"] == {
        "ok": False,
        "id": None,
        "on": None,
        "error": "invalid",
        "detail": "gateway: no gateway 'nowhere' (known: line1)",
    }


CELL = """
gateway_id = "cell2"
system_interval_s = 1.0

[hardware]
backend = "simulated"

[hardware.simulated_wiring]
17 = 13          # the guard switch (input 17) follows the guard lock solenoid (relay on 13)

[[relays]]
id = "pump_a"
name = "Pump A"
pin = 5

[[relays]]
id = "pump_b"
name = "Pump B"
pin = 6

[[relays]]
id = "guard_lock"
name = "Guard lock"
pin = 13

[[relays]]
id = "press"
name = "Press"
pin = 19

[[inputs]]
id = "guard_closed"
name = "Guard closed"
pin = 17
pull = "down"
debounce_ms = 0

[[interlocks]]
id = "one_pump"
kind = "excludes"
relay = "pump_a"
other = "pump_b"

[[interlocks]]
id = "guard_first"
kind = "permissive"
relay = "press"
other = "guard_closed"
"""


def test_excludes_and_a_permissive_input_through_the_dashboard_api(tmp_path: Path) -> None:
    """The other rule kinds, on a gateway process of their own: refused through the bridge
    with the rule named, and a trip when the permissive input changes (a real edge)."""
    config = tmp_path / "cell2.toml"
    config.write_text(CELL)
    cell = Stack(tmp_path / "stack", gateway_args=("--config", str(config)))
    try:
        cell.start("cell2")
        with client(cell) as alice:
            alice.wait_for("state")
            assert set_relay(alice, "cell2/pump_b", True)["ok"]
            refused = set_relay(alice, "cell2/pump_a", True)
            assert (refused["error"], refused["detail"]) == (
                "interlocked",
                "interlock one_pump: pump_a and pump_b are never both on",
            )
            refused = set_relay(alice, "cell2/press", True)
            assert refused["error"] == "interlocked"
            assert refused["detail"].startswith("interlock guard_first:")
            assert set_relay(alice, "cell2/guard_lock", True)["ok"]
            assert set_relay(alice, "cell2/press", True)["ok"]
            assert set_relay(alice, "cell2/guard_lock", False)["ok"]  # the guard opens
            tripped = wait_relay(alice, "cell2/press", on=False, reason="trip")
            assert tripped["rule"] == "guard_first"
    finally:
        cell.stop()
