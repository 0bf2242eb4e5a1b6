"""The stored history of a real bridge process: across a restart, over HTTP, by retention."""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from bridge_helpers import FakeGateway, RunningBridge

from bridge.state.history_store import DB_NAME
from devtools.waits import wait_until

TEMP = "/api/devices/line1/temperature/history"
PUMP = "/api/relays/line1/relay_1/history"


def ranged(bridge: RunningBridge, path: str, **params: Any) -> dict[str, Any]:
    answer = bridge.get(path, params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def wait_for_values(bridge: RunningBridge, path: str, start: float, values: list[float]) -> None:
    """Until the per-second points since ``start`` hold ``values`` (``last`` of each)."""

    def stored() -> bool:
        points = ranged(bridge, path, **{"from": start, "step": 1})["points"]
        return [p[4] for p in points] == values

    wait_until(stored, timeout=30, what=f"{path} holds {values}")


def publish_and_see(bridge: RunningBridge, gateway: FakeGateway, values: list[float]) -> None:
    """Publish readings a little apart in time, and wait until the bridge shows the last."""
    for value in values:
        gateway.publish_device("temperature", value)
        time.sleep(1.05)  # one per-second bucket each: the gateway stamps its own ts
    wait_until(
        lambda: (
            bridge.get("/api/devices").json()["devices"]["line1/temperature"]["value"] == values[-1]
        ),
        what="the bridge holds the last reading",
    )


def test_history_survives_a_bridge_restart(
    bridges: Callable[..., RunningBridge], gateway: FakeGateway
):
    # Written only on the 60 s timer or at the stop: what survives was written by the stop.
    # Sparklines of half-second buckets: one point per reading.
    sparklines = {"FACTORY_HISTORY_WINDOW_S": "60", "FACTORY_HISTORY_POINTS": "120"}
    first = bridges(FACTORY_HISTORY_FLUSH_S="60", **sparklines)
    start = time.time() - 1
    publish_and_see(first, gateway, [20.0, 21.0, 22.0])
    assert first.proc.stop() == 0
    # The broker keeps only the last (retained) reading; the first two come from the disk.
    again = bridges(state_dir=first.state_dir, FACTORY_HISTORY_FLUSH_S="0.2", **sparklines)
    stored = ranged(again, TEMP, **{"from": start, "step": 1})
    assert [p[4] for p in stored["points"]] == [20.0, 21.0, 22.0]
    assert stored["tier"] == "second"
    # The retained 22.0, delivered again at the start, is recognised and not counted twice.
    wait_until(
        lambda: again.metric("factory_bridge_history_samples_skipped") >= 1,
        what="the retained reading is skipped",
    )
    whole = ranged(again, TEMP, **{"from": start, "step": 3600})["points"]
    assert [p[1:] for p in whole] == [[20.0, 21.0, 22.0, 22.0]]  # min, avg, max, last
    # Without parameters: the sparkline answer clients of the first API read, same shape,
    # refilled from the disk.
    legacy = again.get(TEMP).json()
    assert list(legacy) == ["key", "points"]
    assert legacy["key"] == "line1/temperature"
    assert [value for _, value in legacy["points"]] == [20.0, 21.0, 22.0]


def test_any_range_as_json_or_csv_relays_as_steps_and_bad_ranges_named(
    bridges: Callable[..., RunningBridge], gateway: FakeGateway
):
    bridge = bridges(FACTORY_HISTORY_FLUSH_S="0.2")
    other = bridges(FACTORY_HISTORY_FLUSH_S="0.2")  # its own copy of the same stream
    start = time.time() - 1
    publish_and_see(bridge, gateway, [1.5, 2.5])
    for each in (bridge, other):
        wait_for_values(each, TEMP, start, [1.5, 2.5])
    assert other.state_dir != bridge.state_dir
    assert (other.state_dir / DB_NAME).is_file()

    exported = bridge.get(TEMP, params={"from": start, "format": "csv"})
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert "line1_temperature_history.csv" in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [float(r["avg"]) for r in rows] == [1.5, 2.5]
    assert rows[0]["time"].endswith("Z")

    gateway.relays["relay_1"] = True
    gateway.publish_relay("relay_1", cmd=None)
    relay = {}

    def relay_on() -> bool:
        relay.update(ranged(bridge, PUMP, **{"from": start}))
        return bool(relay["points"]) and relay["points"][-1][4] == 1.0

    wait_until(relay_on, timeout=30, what="the relay's switching on is stored")
    assert relay["step_series"] is True
    assert relay["points"][0][4] == 0.0  # off when the gateway came up

    bad = bridge.get(TEMP, params={"from": "last tuesday", "points": "100000"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid"
    assert "from" in bad.json()["detail"]
    assert "points" in bad.json()["detail"]
    backwards = bridge.get(TEMP, params={"from": start + 10, "to": start})
    assert backwards.status_code == 400
    assert "must be before" in backwards.json()["detail"]
    unknown = bridge.get("/api/devices/line1/nothing/history", params={"from": start})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_device")
    assert bridge.get("/api/relays/line1/nothing/history").status_code == 404

    assert bridge.metric("factory_bridge_history_db_bytes") > 0
    assert bridge.metric("factory_bridge_history_samples_written") >= 3


def test_retention_deletes_old_history_from_the_file(
    bridges: Callable[..., RunningBridge], gateway: FakeGateway
):
    bridge = bridges(
        FACTORY_HISTORY_FLUSH_S="0.2",
        FACTORY_HISTORY_SECOND_KEEP_H="0.003",  # 10.8 s
        FACTORY_HISTORY_MINUTE_KEEP_D="0.0002",  # 17.3 s
        FACTORY_HISTORY_TEN_MINUTE_KEEP_D="0.0002",
    )
    start = time.time() - 1
    publish_and_see(bridge, gateway, [7.0])
    wait_for_values(bridge, TEMP, start, [7.0])
    db = sqlite3.connect(bridge.state_dir / DB_NAME)
    tiers = ("second", "minute", "ten_minutes")

    def rows() -> list[int]:
        return [db.execute(f"SELECT count(*) FROM tier_{t}").fetchone()[0] for t in tiers]

    # The reading and both relays; a 10-minute bucket (starting on a multiple of 600 s) may
    # already have begun longer ago than its retention, and be gone.
    assert rows()[0] == 3
    try:
        wait_until(lambda: rows() == [0, 0, 0], timeout=60, what="every tier emptied by age")
    finally:
        db.close()
    assert ranged(bridge, TEMP, **{"from": start})["points"] == []


def test_bridges_sharing_a_state_dir_store_each_reading_once(
    bridges: Callable[..., RunningBridge], gateway: FakeGateway
):
    first = bridges(FACTORY_HISTORY_FLUSH_S="0.2")
    second = bridges(state_dir=first.state_dir, FACTORY_HISTORY_FLUSH_S="0.2")
    first.tokens = second.tokens  # starting the second made new test tokens in the shared dir
    publish_and_see(first, gateway, [1.0, 2.0, 6.0])
    both = (first, second)
    # Each received the 3 readings and the 2 relay states; each was stored by one of them.
    handled = ("factory_bridge_history_samples_written", "factory_bridge_history_samples_skipped")
    wait_until(
        lambda: sum(b.metric(name) for b in both for name in handled) == 10,
        what="both bridges wrote or skipped every sample",
    )
    assert sum(b.metric(handled[0]) for b in both) == 5
    db = sqlite3.connect(first.state_dir / DB_NAME)
    try:
        (stored,) = db.execute("SELECT sum(count) FROM tier_second").fetchone()
    finally:
        db.close()
    assert stored == 5
