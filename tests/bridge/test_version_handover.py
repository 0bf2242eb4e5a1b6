"""A polling client that moves to another bridge process (the load balancer moved it, or its
bridge restarted) is told to fetch the full state: never sent deltas that do not follow from
what it holds (docs/api.md, "Versions"). Real bridge processes on one real Mosquitto."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bridge_helpers import FakeGateway, RunningBridge

from devtools.waits import wait_until


class Poller:
    """A client in HTTP-polling mode, as the dashboard's fallback and the seed's scripts poll:
    the full state once, then ``GET /api/events?since=<the version it holds>``; a delta is
    applied only when its ``prev`` is that version."""

    def __init__(self, bridge: RunningBridge) -> None:
        self.bridge = bridge
        self.state: dict[str, Any] = self.full_state()
        self.resyncs = 0

    @property
    def version(self) -> int:
        return int(self.state["version"])

    def full_state(self) -> dict[str, Any]:
        answer = self.bridge.get("/api/state", role="viewer")
        assert answer.status_code == 200, answer.text
        state: dict[str, Any] = answer.json()
        return state

    def events(self) -> dict[str, Any]:
        answer = self.bridge.get("/api/events", role="viewer", params={"since": self.version})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def poll(self) -> None:
        answer = self.events()
        if answer.get("resync"):
            self.resyncs += 1
            self.state = self.full_state()
            return
        for event in answer["events"]:
            data = event["data"]
            assert data["prev"] == self.version, f"a delta that does not follow: {data}"
            for field, items in data.items():
                if field not in ("prev", "version"):
                    self.state[field].update(items)
            self.state["version"] = data["version"]

    def poll_until(self, check: Callable[[dict[str, Any]], bool], what: str) -> None:
        def polled() -> bool:
            self.poll()
            return check(self.state)

        wait_until(polled, timeout=30, what=what, poll=0.1)


def version_of(bridge: RunningBridge) -> int:
    return int(bridge.get("/api/health", role=None).json()["version"])


def reach(bridge: RunningBridge, version: int, gateway: FakeGateway) -> None:
    """Readings until the bridge's version is at least ``version``: where the versions of
    two processes that count alike (both from 0, the old rule) meet."""
    readings = iter(range(1000, 100_000))

    def reached() -> bool:
        if version_of(bridge) >= version:
            return True
        gateway.publish_device("humidity", next(readings))
        return False

    wait_until(reached, timeout=60, what=f"{bridge.url} at version {version}", poll=0.05)


def reading(state: dict[str, Any]) -> object:
    return state["devices"].get("line1/temperature", {}).get("value")


def relay_2(state: dict[str, Any]) -> object:
    return state["relays"].get("line1/relay_2", {}).get("on")


@pytest.mark.parametrize("move", ["to_another_bridge", "across_a_restart"])
def test_a_poller_that_lands_on_another_bridge_process_is_told_to_resync(
    bridges: Callable[..., RunningBridge], gateway: FakeGateway, move: str
) -> None:
    first = bridges()
    poller = Poller(first)
    gateway.publish_device("temperature", 5)
    poller.poll_until(lambda s: reading(s) == 5, "the reading, polled on the first bridge")
    assert poller.resyncs == 0, "a poller that stays on its bridge gets continuations"
    held = poller.version
    # A rarely changing relay changes while the client is between bridges.
    gateway.relays["relay_2"] = True
    gateway.publish_relay("relay_2", cmd=None)

    if move == "across_a_restart":
        assert first.proc.stop() == 0
        second = bridges(state_dir=first.state_dir)
    else:
        second = bridges()
    # Counted from 0 in every process (the old rule), the new process passes the held version
    # within seconds, and then took it for one of its own.
    reach(second, held, gateway)
    poller.bridge = second
    answer = poller.events()
    assert answer.get("resync") is True, f"{held}, another process's, continued: {answer}"

    # What the dashboard does next: the full state, then what follows from it.
    poller.poll()
    assert poller.resyncs == 1
    assert relay_2(poller.state) is True, "the relay changed meanwhile is shown as it is"
    gateway.publish_device("temperature", 77)
    poller.poll_until(lambda s: reading(s) == 77, "the next reading, polled on the new bridge")
    assert poller.resyncs == 1
