"""Every refused relay command of an identified caller is in the audit log: N refused commands
of every kind, over Socket.IO and HTTP, are N accounted for in ``/api/audit`` once the flood
windows close, and again after a bridge restart that came mid-window. Real bridge processes,
a real Mosquitto, real Socket.IO and HTTP clients."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import requests
from bridge_helpers import FakeGateway, LiveClient, RunningBridge

from devtools.waits import wait_until

COMMAND = {"gateway": "line1", "relay": "relay_1", "on": True}
RELAY_URL = "/api/relays/line1/relay_1"
EVIL = {"Origin": "http://evil.example"}
Key = tuple[str | None, str, str]  # user, via, outcome


def refused_entries(bridge: RunningBridge) -> list[dict[str, Any]]:
    """Every refusal in the audit log (admin's view; the log stays far below a page)."""
    answer = bridge.get("/api/audit", params={"limit": 1000})
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["next_offset"] is None
    return [e for e in page["entries"] if e["ok"] is False]


def accounted(bridge: RunningBridge) -> Counter[Key]:
    counts: Counter[Key] = Counter()
    for entry in refused_entries(bridge):
        counts[(entry["user"], entry["via"], entry["outcome"])] += entry["count"]
    return counts


def wait_accounted(bridge: RunningBridge, expected: Counter[Key], timeout: float) -> None:
    seen: list[Counter[Key]] = []

    def done() -> bool:
        seen.append(accounted(bridge))
        if seen[-1] == expected:
            return True
        time.sleep(0.5)  # the admin's reads count against its HTTP rate limit
        return False

    try:
        wait_until(done, timeout, "every refusal accounted for in /api/audit")
    except TimeoutError:
        raise AssertionError(f"accounted {seen[-1]}, expected {expected}") from None


def sio_refusals(client: LiveClient, data: dict[str, Any], times: int, error: str) -> int:
    for _ in range(times):
        outcome = client.call("set_relay", data)
        assert outcome["ok"] is False and outcome["error"] == error, outcome
    return times


def http_refusals(
    session: requests.Session, bridge: RunningBridge, times: int, status: int, error: str, **kw: Any
) -> int:
    for _ in range(times):
        answer = session.post(bridge.url + RELAY_URL, json={"on": True}, timeout=15, **kw)
        assert answer.status_code == status and answer.json()["error"] == error, answer.text
    return times


def token_session(bridge: RunningBridge, role: str) -> requests.Session:
    session = requests.Session()
    session.headers.update(bridge.auth(role))
    return session


def flood(
    bridge: RunningBridge,
    operator: LiveClient,
    viewer: LiveClient,
    olga: requests.Session,
    burst: int,
) -> Counter[Key]:
    """Refused commands of every kind, each checked as its caller sees it; how many per key."""
    op, tok = "token:test-operator", token_session(bridge, "operator")
    sent: Counter[Key] = Counter()
    sent[(op, "socketio", "rate_limited")] += sio_refusals(operator, COMMAND, burst, "rate_limited")
    sent[(op, "http", "rate_limited")] += http_refusals(
        tok, bridge, burst // 2, 429, "rate_limited"
    )
    sent[("token:test-viewer", "socketio", "rate_limited")] += sio_refusals(
        viewer, COMMAND, burst // 3, "rate_limited"
    )
    csrf = olga.headers["X-CSRF-Token"]
    sent[("olga", "http", "csrf_failed")] += http_refusals(
        olga, bridge, burst // 4, 403, "csrf_failed", headers={"X-CSRF-Token": "forged"}
    )
    sent[("olga", "http", "forbidden_origin")] += http_refusals(
        olga, bridge, burst // 4, 403, "forbidden_origin", headers={**EVIL, "X-CSRF-Token": csrf}
    )
    admin = token_session(bridge, "admin")
    sent[("token:test-admin", "http", "forbidden_origin")] += http_refusals(
        admin, bridge, burst // 5, 403, "forbidden_origin", headers=EVIL
    )
    # Nobody identified: refused, and not a caller's command to audit.
    http_refusals(requests.Session(), bridge, 2, 401, "unauthorized")
    forged = requests.Session()
    forged.headers["Authorization"] = "Bearer fiot_forged"
    http_refusals(forged, bridge, 2, 401, "unauthorized")
    return sent


def test_every_refused_command_is_accounted_for_also_after_a_restart(
    bridges, gateway: FakeGateway, clients
):
    bridge = bridges(FACTORY_COMMAND_BURST="3", FACTORY_COMMAND_RATE="0.01")
    bridge.add_user("olga", "operator")
    operator = clients(bridge)
    viewer = clients(bridge, role="viewer")
    operator.wait(lambda: operator.item("relays", "line1/relay_1") is not None, "relays known")
    olga = bridge.login("olga")
    op = "token:test-operator"

    # The refusals the gate makes before the rate limit bites (each costs a token).
    expected: Counter[Key] = Counter()
    bad = {**COMMAND, "on": "yes"}
    expected[(op, "socketio", "invalid")] += sio_refusals(operator, bad, 1, "invalid")
    unknown = {**COMMAND, "relay": "relay_9"}
    expected[(op, "socketio", "unknown_relay")] += sio_refusals(
        operator, unknown, 1, "unknown_relay"
    )
    assert operator.call("set_relay", COMMAND)["ok"] is True  # accepted: not a refusal
    expected[("token:test-viewer", "socketio", "forbidden")] += sio_refusals(
        viewer, COMMAND, 3, "forbidden"
    )
    expected += flood(bridge, operator, viewer, olga, burst=40)
    total = sum(expected.values())

    # A flood is a few entries, not one per refusal (each entry is an fsync) ...
    assert len(refused_entries(bridge)) < total / 3
    # ... and its count is written when its window closes, with no further refusal.
    wait_accounted(bridge, expected, timeout=60)
    merged = [e for e in refused_entries(bridge) if e["count"] > 1]
    assert merged and all(" x " in e["detail"] and e["id"] is None for e in merged)

    # Another flood, and the bridge is stopped mid-window: it writes what it holds.
    expected += flood(bridge, operator, viewer, olga, burst=20)
    assert bridge.proc.stop() == 0, bridge.proc.log()[-2000:]
    again = bridges(state_dir=bridge.state_dir)
    assert accounted(again) == expected


def test_commands_refused_by_the_http_request_limit_are_audited(
    bridges, gateway: FakeGateway, clients
):
    bridge = bridges(FACTORY_HTTP_RATE_LIMIT="3/minute")
    # Waited for over Socket.IO: polling over HTTP would spend the limit under test.
    watcher = clients(bridge, role="viewer")
    watcher.wait(lambda: watcher.item("relays", "line1/relay_1") is not None, "relays known")
    statuses = [
        bridge.post(RELAY_URL, role="operator", json={"on": on}).status_code
        for on in (True, False, True, False, True, False)
    ]
    assert statuses == [200, 200, 200, 429, 429, 429]
    assert bridge.proc.stop() == 0
    again = bridges(state_dir=bridge.state_dir)
    entries = refused_entries(again)
    assert sum(e["count"] for e in entries) == 3
    assert {(e["user"], e["via"], e["outcome"]) for e in entries} == {
        ("token:test-operator", "http", "rate_limited")
    }
    assert all("HTTP requests" in e["detail"] for e in entries)
    # Newest first: the merged two asked for both states, so their entry names neither.
    assert [(e["count"], e["on"]) for e in entries] == [(2, None), (1, False)]
