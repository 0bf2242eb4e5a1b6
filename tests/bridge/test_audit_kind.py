"""A command is audited as the kind it is (the event or path it came by), not guessed from the
fields the client sent: a relay command with a stray ``action`` field is a relay command in
the admin's audit log (docs/api.md, "Audit log")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge_helpers import FakeGateway, LiveClient, RunningBridge

from devtools.waits import wait_until

ALARM_FIELDS = {"action": "acknowledge", "source": "temperature", "condition": "hi"}


def audit_log(bridge: RunningBridge, count: int) -> list[dict[str, Any]]:
    """The admin's view, once ``count`` entries are there (written on the disk thread)."""

    def entries() -> list[dict[str, Any]] | None:
        answer = bridge.get("/api/audit", role="admin", params={"limit": 1000})
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["entries"]
        return found if len(found) >= count else None

    found: list[dict[str, Any]] = wait_until(entries, timeout=30, what=f"{count} audit entries")
    return found


def test_a_relay_command_with_a_stray_action_field_is_audited_as_a_relay_command(
    bridges: Callable[..., RunningBridge],
    gateway: FakeGateway,
    clients: Callable[..., LiveClient],
) -> None:
    bridge = bridges()
    bridge.add_user("olga", "operator")
    client = clients(bridge)
    client.wait(lambda: client.item("relays", "line1/relay_1") is not None, "relays known")

    command = {"gateway": "line1", "relay": "relay_1", "on": True, **ALARM_FIELDS}
    outcome = client.call("set_relay", command)
    assert outcome["error"] == "invalid" and "action" in outcome["detail"]
    answer = bridge.post(
        "/api/relays/line1/relay_1", role="operator", json={"on": True, **ALARM_FIELDS}
    )
    assert answer.status_code == 400 and "action" in answer.json()["detail"]
    # Refused by the HTTP gate before the view: audited all the same, as what it was.
    olga = bridge.login("olga")
    answer = olga.post(
        bridge.url + "/api/relays/line1/relay_1",
        json={"on": True, **ALARM_FIELDS},
        headers={"X-CSRF-Token": "forged"},
        timeout=15,
    )
    assert answer.status_code == 403 and answer.json()["error"] == "csrf_failed"
    # And the other way round: an alarm command that names no action is an alarm command.
    outcome = client.call("alarm_command", {"gateway": "line1", "source": "temperature",
                                            "condition": "hi"})  # fmt: skip
    assert outcome["error"] == "invalid"

    entries = audit_log(bridge, 4)
    relay_commands = [e for e in entries if e["relay"] is not None]
    seen = {(e["via"], e["outcome"], e["user"]) for e in relay_commands}
    assert seen == {
        ("socketio", "invalid", "token:test-operator"),
        ("http", "invalid", "token:test-operator"),
        ("http", "csrf_failed", "olga"),
    }
    for entry in relay_commands:
        audited = (entry["action"], entry["alarm"], entry["gateway"], entry["on"])
        assert audited == ("set_relay", None, "line1", True), entry
    (alarm_command,) = [e for e in entries if e["relay"] is None]
    audited = (alarm_command["action"], alarm_command["alarm"], alarm_command["via"])
    assert audited == ("alarm_command", "temperature/hi", "socketio")
