"""An alarm flood, as when a line trips: one field device raises many alarms at once.

``python -m devtools.alarm_flood`` measures what the bridge and its clients make of it (the
figures in docs/benchmarks.md, "Alarm flood"); tests/bridge/test_alarm_flood.py checks that
nothing is lost and every count stays exact, without timing targets.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from devtools.dashboard_mirror import DashboardMirror
from devtools.mqtt_probe import MqttProbe
from devtools.stack import Stack
from factory_core.alarms import PRIORITIES
from factory_core.contract import AlarmState, Topics

DEVICE = "trip-line"


def flood_messages(count: int, now: float, topics: Topics) -> list[tuple[str, bytes]]:
    """``count`` alarms of one device-like gateway, priorities in turn, all unacknowledged."""
    out = []
    for i in range(count):
        state = AlarmState(
            priority=PRIORITIES[i % len(PRIORITIES)],
            active=True,
            acked=False,
            state="unacked",
            since=now,
            raised=now,
            value=float(i),
            limit=0.0,
            message=f"point {i}: hi",
            ts=now,
        )
        out.append((topics.alarm_state(DEVICE, f"p{i:05d}", "hi"), state.to_bytes()))
    return out


def expected_counts(count: int) -> dict[str, int]:
    return {p: len(range(i, count, len(PRIORITIES))) for i, p in enumerate(PRIORITIES)}


def flood_probe(url: str) -> MqttProbe:
    """A publisher that keeps a whole flood in flight (paho's default is 20 at a time)."""
    probe = MqttProbe(url)
    probe.client.max_inflight_messages_set(10_000)
    return probe.start()


def publish_flood(probe: MqttProbe, messages: list[tuple[str, bytes]]) -> float:
    """Publish them all retained at QoS 1 as fast as the client goes; seconds it took."""
    started = time.monotonic()
    infos = [probe.client.publish(t, p, qos=1, retain=True) for t, p in messages]
    for info in infos:
        info.wait_for_publish(30)
    return time.monotonic() - started


def clear_flood(probe: MqttProbe, messages: list[tuple[str, bytes]]) -> None:
    infos = [probe.client.publish(t, b"", qos=1, retain=True) for t, _ in messages]
    for info in infos:
        info.wait_for_publish(30)


def unacked_by_priority(state: dict[str, Any] | None) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(PRIORITIES, 0)
    for alarm in (state or {}).get("alarms", {}).values():
        if alarm["gateway"] == DEVICE and not alarm["acked"]:
            counts[alarm["priority"]] += 1
    return counts


def measure(count: int, clients: int, workdir: Path) -> dict[str, Any]:
    topics = Topics()
    with Stack(workdir) as stack:
        mirrors = [
            DashboardMirror(stack.base_url, name=f"c{i}", token=stack.api_token).start()
            for i in range(clients)
        ]
        messages = flood_messages(count, time.time(), topics)
        health: list[float] = []
        done = threading.Event()

        def poll_health() -> None:
            while not done.is_set():
                t0 = time.monotonic()
                requests.get(stack.base_url + "/api/health", timeout=10)
                health.append((time.monotonic() - t0) * 1000)
                time.sleep(0.05)

        poller = threading.Thread(target=poll_health)
        with flood_probe(stack.broker.url) as probe:
            probe.publish(topics.status(DEVICE), "online", retain=True)
            poller.start()
            before = [len(m.versions) for m in mirrors]
            t0 = time.monotonic()
            published = publish_flood(probe, messages)
            want = expected_counts(count)
            seen = []
            for mirror in mirrors:
                mirror.wait(lambda s: unacked_by_priority(s) == want, 120, "every alarm")
                seen.append(time.monotonic() - t0)
            done.set()
            poller.join()
            # Versions held during the flood: one per message applied (plant deltas included).
            pushes = [len(m.versions) - b for m, b in zip(mirrors, before, strict=True)]
            clear_flood(probe, messages)
            probe.publish(topics.status(DEVICE), b"", retain=True)
        for mirror in mirrors:
            mirror.stop()
    return {
        "alarms": count,
        "clients": clients,
        "publish_s": round(published, 3),
        "all_clients_exact_s": round(max(seen), 3),
        "first_client_exact_s": round(min(seen), 3),
        "messages_per_client_median": statistics.median(pushes),
        "health_ms_median": round(statistics.median(health), 1),
        "health_ms_max": round(max(health), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alarms", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(measure(args.alarms, args.clients, Path(tmp)))


if __name__ == "__main__":
    main()
