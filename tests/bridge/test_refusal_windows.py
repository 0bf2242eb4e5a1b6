"""The rule that puts every refused command in the audit log while a flood stays a few lines:
``RefusalWindows`` (pure, property-tested) and the command gate driving it with injected
clocks, without sockets or sleeping."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.control.command_gate import CommandGate
from bridge.control.relay_commands import Commands
from bridge.security.audit import FLOODABLE, AuditEntry, AuditLog, RefusalWindows
from bridge.security.principals import Principal
from bridge.security.ratelimit import RateLimiter
from bridge.state.store import Store

WINDOW = 10.0
CALLERS = [
    ("olga", "socketio", "rate_limited"),
    ("olga", "http", "rate_limited"),
    ("olga", "http", "csrf_failed"),
    ("token:plc", "http", "forbidden_origin"),
    ("vera", "socketio", "forbidden"),  # not a flood outcome: always written at once
    (None, "socketio", "rate_limited"),  # nobody identified: nothing to merge by
]


def refusal(key: tuple[str | None, str, str], ts: float, relay: str = "relay_1") -> AuditEntry:
    user, via, outcome = key
    return AuditEntry(
        ts=ts, user=user, role="operator", via=via, remote="10.0.0.7", gateway="line1",
        relay=relay, on=True, outcome=outcome, ok=False, id=None, detail="no",
    )  # fmt: skip


# A run: each step waits some seconds, then either a refusal comes in (a key's index) or
# the timer fires (None).
steps = st.lists(
    st.tuples(
        st.floats(0, 3 * WINDOW, allow_nan=False),
        st.none() | st.integers(0, len(CALLERS) - 1),
        st.sampled_from(["relay_1", "relay_2"]),
    ),
    max_size=60,
)


@settings(max_examples=500, deadline=None)
@given(steps)
def test_every_refusal_is_counted_once_and_a_flood_stays_a_few_entries(
    run: list[tuple[float, int | None, str]],
) -> None:
    windows = RefusalWindows(WINDOW)
    now = 0.0
    offered: Counter[tuple[str | None, str, str]] = Counter()
    written: list[tuple[float, AuditEntry]] = []
    first_last: dict[tuple[str | None, str, str], tuple[float, float]] = {}
    for wait, which, relay in run:
        now += wait
        if which is None:
            written += [(now, e) for e in windows.close_due(now)]
            next_close = windows.next_close()
            assert next_close is None or next_close > now, "a closed window still holds"
            continue
        key = CALLERS[which]
        offered[key] += 1
        first_last[key] = (first_last.get(key, (now, now))[0], now)
        out = windows.offer(refusal(key, now, relay), now)
        written += [(now, e) for e in out]
        if key[0] is None or key[2] not in FLOODABLE:
            assert [e.count for e in out] == [1], "only a flood is merged"
    written += [(now, e) for e in windows.close_all()]
    assert windows.next_close() is None

    accounted: Counter[tuple[str | None, str, str]] = Counter()
    for _, entry in written:
        accounted[(entry.user, entry.via, entry.outcome)] += entry.count
    assert accounted == offered
    for key, (first, last) in first_last.items():
        entries = [e for _, e in written if (e.user, e.via, e.outcome) == key]
        if key[0] is not None and key[2] in FLOODABLE:
            # An entry at the first refusal of a run, one per window that held any more.
            assert len(entries) <= 2 * ((last - first) / WINDOW + 1)
        assert all(e.ts <= last for e in entries), "an entry is dated by its last refusal"


def test_a_flood_is_one_entry_at_once_and_its_count_when_the_window_closes() -> None:
    windows = RefusalWindows(WINDOW)
    key = CALLERS[0]
    first = windows.offer(refusal(key, 100.0), 0.0)
    assert [e.count for e in first] == [1]
    held = [
        windows.offer(refusal(key, 100.0 + n / 10, f"relay_{n % 2}"), n / 10) for n in range(1, 41)
    ]
    assert held == [[]] * 40
    assert windows.next_close() == WINDOW
    assert windows.close_due(WINDOW - 0.01) == []
    [merged] = windows.close_due(WINDOW)  # no further refusal needed
    assert merged.count == 40 and merged.outcome == "rate_limited" and merged.user == "olga"
    assert merged.relay is None, "the merged refusals named two relays"
    assert merged.gateway == "line1" and merged.remote == "10.0.0.7" and merged.on is True
    assert merged.ts == 104.0 and merged.detail is not None
    assert merged.detail.startswith("40 x rate_limited (00:01:40.100-00:01:44.000 UTC)")
    # The flood goes on: one entry per window; it stops: the next window closes empty.
    assert windows.offer(refusal(key, 111.0), 11.0) == []
    assert [e.count for e in windows.close_due(2 * WINDOW)] == [1]
    assert windows.close_due(3 * WINDOW) == [] and windows.next_close() is None
    assert [e.count for e in windows.offer(refusal(key, 140.0), 40.0)] == [1]


def test_a_late_timer_still_writes_the_count_before_the_next_refusal() -> None:
    windows = RefusalWindows(WINDOW)
    key = CALLERS[2]
    windows.offer(refusal(key, 0.0), 0.0)
    windows.offer(refusal(key, 1.0), 1.0)
    windows.offer(refusal(key, 2.0), 2.0)
    out = windows.offer(refusal(key, 15.0), 15.0)  # the timer has not run since
    assert [e.count for e in out] == [2]
    assert [e.count for e in windows.close_all()] == [1]


class _MustNotPublish:
    """The MQTT edge for a gate test in which nothing may reach the broker."""

    connected = True

    def publish_command(self, *_args: object) -> bool:
        raise AssertionError("a refused command reached MQTT")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_gate_writes_a_floods_count_on_its_timer_and_when_stopped(tmp_path: Path) -> None:
    now = [0.0]
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path)
    commands = Commands(
        Store(first_version=0), _MustNotPublish(), lambda: None, lambda: now[0], ttl=1
    )  # type: ignore[arg-type]
    gate = CommandGate(
        commands, audit, RateLimiter(per_minute=6, burst=2), lambda: now[0], lambda: now[0]
    )
    viewer = Principal(name="vera", role="viewer")
    command = {"gateway": "line1", "relay": "relay_1", "on": True}
    errors = [gate.submit(viewer, command, "socketio", "10.0.0.9").outcome.error for _ in range(50)]
    assert errors[:2] == ["forbidden", "forbidden"] and set(errors[2:]) == {"rate_limited"}
    assert [e["outcome"] for e in _lines(path)] == ["forbidden", "forbidden", "rate_limited"]

    now[0] = 9.9
    assert gate.close_due_windows() == pytest.approx(0.1)
    assert len(_lines(path)) == 3
    now[0] = 10.0
    gate.close_due_windows()  # the timer: no other refusal comes
    last = _lines(path)[-1]
    assert (last["outcome"], last["count"], last["user"]) == ("rate_limited", 47, "vera")

    # The same caller over HTTP, refused by the HTTP gate: merged on its own.
    for _ in range(5):
        gate.refused(
            "set_relay", viewer, command, "http", "10.0.0.9", "csrf_failed", "missing X-CSRF-Token"
        )
    gate.stop()  # mid-window: what it holds is written
    lines = _lines(path)
    assert sum(e["count"] for e in lines) == 55
    assert [(e["outcome"], e["via"], e["count"]) for e in lines[-2:]] == [
        ("csrf_failed", "http", 1),
        ("csrf_failed", "http", 4),
    ]
    # A request still in flight after the stop is written at once, not held.
    gate.submit(viewer, command, "socketio", None)
    assert sum(e["count"] for e in _lines(path)) == 56
