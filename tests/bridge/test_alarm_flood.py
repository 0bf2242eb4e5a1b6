"""An alarm flood (1,000 alarms at once, as when a line trips) against a real bridge process:
nothing is lost, the counts every client holds are exact, the pushes are coalesced and the
bridge keeps answering. Its timings are measured by ``python -m devtools.alarm_flood``
(docs/benchmarks.md, "Alarm flood"), not asserted here."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bridge_helpers import LiveClient, RunningBridge

from bridge.contract import EVENT_LOG_EVENT
from devtools.alarm_flood import (
    DEVICE,
    clear_flood,
    expected_counts,
    flood_messages,
    flood_probe,
    publish_flood,
    unacked_by_priority,
)
from devtools.dashboard_mirror import DashboardMirror
from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe
from devtools.waits import wait_until
from factory_core.contract import Topics

COUNT = 1000


def test_a_thousand_alarms_at_once_reach_every_client_exactly_and_coalesced(
    broker: LocalBroker,
    bridges: Callable[..., RunningBridge],
) -> None:
    topics = Topics()
    bridge = bridges()
    # Clients written as the dashboard is: a gap is answered by fetching the full state.
    watchers = [
        DashboardMirror(bridge.url, transports, token=bridge.tokens[role]).start()
        for transports, role in ((["websocket"], "operator"), (["websocket"], "viewer"),
                                 (["polling"], "viewer"))
    ]  # fmt: skip
    # A client with the event log open, as the dashboard's page has it.
    reader = LiveClient(bridge.url).connect(auth={"token": bridge.tokens["viewer"]})
    updates: list[dict[str, Any]] = []

    def on_update(data: dict[str, Any]) -> None:
        with reader.cond:
            updates.append(data)
            reader.cond.notify_all()

    reader.sio.on(EVENT_LOG_EVENT, on_update)
    opened = reader.call("subscribe_event_log", {"gateway": DEVICE, "kind": "alarm"})
    assert opened["ok"] is True
    messages = flood_messages(COUNT, time.time(), topics)
    with flood_probe(broker.url) as device:
        try:
            flood(device, bridge, watchers, messages)
            # The open event log got every entry, in a few pushes (one per flush, the newest
            # 200 each, the rest counted as skipped), not one message per alarm.
            reader.wait(
                lambda: sum(len(u["entries"]) + u["skipped"] for u in updates) == COUNT,
                "every logged alarm pushed or counted",
                timeout=60,
            )
            assert 0 < len(updates) < COUNT // 20, f"{len(updates)} event log pushes"
            assert all(len(u["entries"]) <= 200 for u in updates)
        finally:
            reader.close()
            clear_flood(device, messages)
            device.publish(topics.status(DEVICE), b"", retain=True)
            for watcher in watchers:
                watcher.stop()


def flood(
    device: MqttProbe,
    bridge: RunningBridge,
    watchers: list[DashboardMirror],
    messages: list[tuple[str, bytes]],
) -> None:
    want = expected_counts(COUNT)
    device.publish(Topics().status(DEVICE), "online", retain=True)
    publish_flood(device, messages)
    # The bridge keeps answering while it works through the flood.
    assert bridge.get("/api/health").status_code == 200
    for client in watchers:
        client.wait(lambda s: unacked_by_priority(s) == want, 60, "every alarm, per priority")
    for client in watchers:
        pushes = len(client.versions)
        assert 0 < pushes < COUNT // 2, f"{pushes} pushes for {COUNT} alarms: not coalesced"
    full = watchers[0].call("request_state")
    assert unacked_by_priority(full) == want
    # Each of them is one line of the event log, written in batches off the loop.
    wait_until(
        lambda: (
            bridge.get(f"/api/event-log?gateway={DEVICE}&kind=alarm&limit=1").json()["total"]
            == COUNT
        ),
        what="every raised alarm logged",
        timeout=60,
    )
