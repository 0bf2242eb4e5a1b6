"""Locks and all to safe at the bridge: who may ask, what a malformed request is told, and
that each is audited with its action. Nothing here reaches a gateway: every request is
refused (or found invalid) before anything is published, which the probe confirms."""

from __future__ import annotations

from typing import Any

from bridge_helpers import RunningBridge

from bridge.security.audit import AuditEntry
from bridge.state.event_log import command_event
from devtools.mqtt_probe import MqttProbe


def audit(bridge: RunningBridge) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = bridge.get("/api/audit").json()["entries"]
    return entries


def test_a_viewer_may_neither_lock_nor_send_all_to_safe_and_is_audited(
    bridges: Any, probe: MqttProbe
) -> None:
    bridge = bridges()
    lock = bridge.post(
        "/api/relays/line1/relay_1/lock", role="viewer", json={"lock": True, "reason": "x"}
    )
    assert lock.status_code == 403
    assert lock.json()["error"] == "forbidden"
    assert lock.json()["detail"] == "token:test-viewer (viewer) may not lock relays"
    safe = bridge.post("/api/all-to-safe", role="viewer", json={})
    assert safe.status_code == 409
    assert safe.json()["gateways"]["*"]["error"] == "forbidden"
    entries = audit(bridge)
    assert [(e["action"], e["outcome"], e["user"]) for e in entries[:2]] == [
        ("all_to_safe", "forbidden", "token:test-viewer"),
        ("lock", "forbidden", "token:test-viewer"),
    ]
    assert [m.topic for m in probe.messages if m.topic.endswith(("/lock", "/all_to_safe"))] == []


def test_a_lock_request_names_what_was_wrong(bridges: Any) -> None:
    bridge = bridges()
    bad = bridge.post(
        "/api/relays/line1/relay_1/lock", role="operator", json={"lock": "yes", "by": "mallory"}
    )
    assert bad.status_code == 400
    detail = bad.json()["detail"]
    assert "lock" in detail and "by" in detail  # a client cannot name the lock's author
    unknown = bridge.post(
        "/api/relays/line1/relay_9/lock", role="operator", json={"lock": True, "reason": "x"}
    )
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_relay"


def test_locks_and_all_to_safe_are_told_in_the_event_log_as_what_they_were() -> None:
    def told(action: str, **fields: Any) -> tuple[str, str | None, str]:
        base: dict[str, Any] = {"gateway": "line1", "relay": "relay_1", "on": None}
        entry = AuditEntry(
            ts=1.0, user="ann", role="operator", via="http", remote=None, outcome="ok", ok=True,
            id="c1", detail=None, action=action, **{**base, **fields},
        )  # fmt: skip
        event = command_event(entry)
        assert event is not None
        return event.action, event.subject, event.text

    assert told("lock") == ("lock", "relay_1", "ann: lock line1/relay_1: done")
    assert told("unlock") == ("unlock", "relay_1", "ann: unlock line1/relay_1: done")
    assert told("all_to_safe", relay=None) == (
        "all_to_safe", None, "ann: all to safe: line1: done"
    )  # fmt: skip
    assert told("set_relay", on=True)[:2] == ("switch_on", "relay_1")
    alarm = told("acknowledge", relay=None, alarm="oven/hi")
    assert alarm == ("acknowledge", "oven/hi", "ann: acknowledge alarm oven/hi of line1: done")
