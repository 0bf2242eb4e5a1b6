"""The fan-out engine without a server: clients are modelled the way the dashboard behaves."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.contract import EVENTS, FIELD
from bridge.push.coalesce import Outgoing, Pacing
from bridge.push.fanout import MAX_QUEUED, Fanout, Plan
from bridge.state.store import Delta

INTERVAL = 0.05
STUCK_AFTER = 0.5
KEYS = "abc"
CLIENTS = [f"c{i}" for i in range(8)]


@dataclass
class Plant:
    """The store's side: every change raises the version by one; each version's state kept."""

    version: int = 0
    states: list[dict[str, dict[str, Any]]] = field(
        default_factory=lambda: [{FIELD[e]: {} for e in EVENTS}]
    )

    def change(self, event: Any, key: str, value: int) -> Delta:
        self.version += 1
        state = copy.deepcopy(self.states[-1])
        state[FIELD[event]][key] = {"v": value}
        self.states.append(state)
        return Delta(event, self.version - 1, self.version, {key: {"v": value}})

    def state(self, version: int | None = None) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self.states[self.version if version is None else version])


@dataclass
class Dashboard:
    """A client that follows the documented rule: apply a delta only if ``prev == held``."""

    state: dict[str, dict[str, Any]] | None = None
    version: int = -1

    def take_state(self, plant: Plant) -> None:
        self.state, self.version = plant.state(), plant.version

    def apply(self, message: Outgoing, plant: Plant, who: str) -> None:
        payload = message.payload
        assert self.state is not None, f"{who} got a delta before its state"
        assert payload["prev"] == self.version, f"{who} holds {self.version}, got {payload}"
        assert payload["version"] >= payload["prev"]
        items = payload[FIELD[message.event]]
        # Newest value per key: what the store held for that key at the message's version.
        at_version = plant.states[payload["version"]][FIELD[message.event]]
        assert items == {k: at_version[k] for k in items}, f"{who}: stale values in {payload}"
        self.state[FIELD[message.event]].update(items)
        self.version = payload["version"]


def deliver(plan: Plan, plant: Plant, dashboards: dict[str, Dashboard]) -> None:
    for who in plan.state_to:
        dashboards[who].take_state(plant)
    seen: set[str] = set()
    for group in plan.groups:
        assert group.messages and group.clients
        assert not seen & set(group.clients), "a client in two groups of one flush"
        seen |= set(group.clients)
        for who in group.clients:
            for message in group.messages:
                dashboards[who].apply(message, plant, who)
    chains = [tuple((m.event, repr(m.payload)) for m in g.messages) for g in plan.groups]
    assert len(chains) == len(set(chains)), "clients with the same chain not sharing it"


client_ids = st.sampled_from(CLIENTS)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("change"), st.sampled_from(EVENTS), st.sampled_from(KEYS), st.integers()),
        st.tuples(st.just("connect"), client_ids),
        st.tuples(st.just("disconnect"), client_ids),
        st.tuples(st.just("resync"), client_ids),
        st.tuples(st.just("drained"), client_ids),
        st.tuples(
            st.just("flush"),
            st.sampled_from([0.0, 0.01, 0.03, 0.06, 0.2]),
            st.lists(st.integers(0, MAX_QUEUED + 2), min_size=len(CLIENTS), max_size=len(CLIENTS)),
        ),
    ),
    max_size=120,
)


@settings(max_examples=400, deadline=None)
@given(operations, st.sampled_from([0, INTERVAL, "paced"]), st.sampled_from([1, 3, 10]))
def test_every_client_gets_its_own_chain_newest_values_and_catches_up(
    ops: list[tuple[Any, ...]], interval: float | str, burst: int
) -> None:
    plant = Plant()
    if interval == "paced":
        # The interval moves with the rate between flushes: 2 ms, up to 50 ms from 40/s.
        pacing = Pacing(0.002, INTERVAL, knee=20, window=0.1)
        fanout = Fanout(0.002, STUCK_AFTER, burst, pacing=pacing)
    else:
        assert isinstance(interval, float | int)
        fanout = Fanout(interval, STUCK_AFTER, burst)
    dashboards: dict[str, Dashboard] = {}
    backlogs: dict[str, int] = {}
    full_since: dict[str, float] = {}
    now = 100.0
    for op in ops:
        if op[0] == "change":
            fanout.publish([plant.change(op[1], op[2], op[3])], now)
        elif op[0] == "connect" and op[1] not in dashboards:
            fanout.connect(op[1])
            dashboards[op[1]] = Dashboard()
            full_since.pop(op[1], None)
        elif op[0] == "disconnect" and op[1] in dashboards:
            fanout.disconnect(op[1])
            del dashboards[op[1]]
            full_since.pop(op[1], None)
        elif op[0] == "resync" and op[1] in dashboards:
            dashboards[op[1]].take_state(plant)  # the acknowledgement of request_state
            fanout.resynced(op[1], plant.version)
        elif op[0] == "drained" and op[1] in dashboards:
            assert fanout.drained(op[1]) == (
                dashboards[op[1]].state is None or fanout.pending(op[1]) > 0
            ), "drained must say whether a flush has anything for the client"
        elif op[0] == "flush":
            now += op[1]
            backlogs.update(zip(CLIENTS, op[2], strict=True))
            for who in dashboards:
                if backlogs[who] < MAX_QUEUED:
                    full_since.pop(who, None)
                else:
                    full_since.setdefault(who, now)
            plan = fanout.flush(now, backlogs.get, plant.version)
            for who in plan.cut:
                assert now - full_since[who] >= STUCK_AFTER, f"{who} cut before it was stuck"
                del dashboards[who]
            assert set(plan.watch) == {w for w in dashboards if backlogs[w] >= MAX_QUEUED}, (
                "every backlogged client, and only those, is watched for its queue to drain"
            )
            assert not {*plan.state_to, *plan.watch} & set(plan.cut)
            sent_to = set(plan.state_to) | {w for g in plan.groups for w in g.clients}
            assert all(backlogs[w] < MAX_QUEUED for w in sent_to), "sent to a full queue"
            deliver(plan, plant, dashboards)
        for who in dashboards:
            # Memory per client: bounded by the keys, never by the number of changes.
            assert fanout.pending(who) <= len(EVENTS) * len(KEYS)
    # Everyone reads again: each client ends up holding exactly the store's state.
    for _ in range(2):
        now += 1.0
        deliver(fanout.flush(now, lambda _who: 0, plant.version), plant, dashboards)
    for who, dashboard in dashboards.items():
        assert (dashboard.version, dashboard.state) == (plant.version, plant.state()), who
        assert fanout.pending(who) == 0 and fanout.held(who) == plant.version


def test_clients_in_step_share_one_chain_and_one_off_step_gets_only_its_own() -> None:
    """The bug this engine replaced: a client whose one message equalled one of the in-step
    clients' was added to their shared recipient list and so got all of their messages,
    including deltas on a version older than its own."""
    plant = Plant()
    fanout = Fanout(INTERVAL, STUCK_AFTER, burst=10)
    dashboards = {who: Dashboard() for who in ("resynced", *(f"in-step-{i}" for i in range(100)))}
    for who in dashboards:
        fanout.connect(who)
    fanout.publish([plant.change("devices_update", "a", 1)], 1.0)
    deliver(fanout.flush(1.0, lambda _who: 0, plant.version), plant, dashboards)
    assert {d.version for d in dashboards.values()} == {1}
    fanout.publish([plant.change("devices_update", "a", 2)], 1.1)
    # One client asks for the full state (at version 2) before the flush...
    dashboards["resynced"].take_state(plant)
    fanout.resynced("resynced", plant.version)
    fanout.publish([plant.change("relays_update", "r", 3)], 1.1)
    plan = fanout.flush(1.1, lambda _who: 0, plant.version)
    # ...so its chain is only the relay change, the same message as the in-step clients'
    # second one: it gets that message, not their first (prev 1, while it holds 2).
    deliver(plan, plant, dashboards)
    (shared,) = [g for g in plan.groups if len(g.clients) == 100]
    assert [(m.event, m.payload["prev"]) for m in shared.messages] == [
        ("devices_update", 1),
        ("relays_update", 2),
    ]
    (own,) = [g for g in plan.groups if g.clients == ["resynced"]]
    assert own.messages == shared.messages[1:]
    assert all(d.version == plant.version == 3 for d in dashboards.values())


def test_a_new_client_gets_the_state_first_and_one_that_never_reads_is_cut() -> None:
    fanout = Fanout(INTERVAL, stuck_after=10, burst=10)
    fanout.connect("new")
    assert fanout.drained("new"), "a client waiting for its state wants a flush"
    plan = fanout.flush(0.0, lambda _who: 0, version=7)
    assert plan.state_to == ["new"] and plan.groups == []
    assert fanout.held("new") == 7
    fanout.publish([Delta("devices_update", 7, 8, {"a": {"v": 1}})], 0.0)
    assert fanout.flush(1.0, lambda _who: MAX_QUEUED, 8).watch == ["new"]
    assert fanout.drained("new") and fanout.pending("new") == 1
    assert fanout.flush(10.9, lambda _who: MAX_QUEUED, 8).cut == []
    assert fanout.flush(11.0, lambda _who: MAX_QUEUED, 8).cut == ["new"]
    assert fanout.clients == 0 and not fanout.drained("new")


def test_a_closing_client_is_skipped_and_bad_settings_are_named() -> None:
    fanout = Fanout(INTERVAL, STUCK_AFTER)
    fanout.connect("closing")
    assert fanout.flush(0.0, lambda _who: None, 1) == Plan()
    with pytest.raises(ValueError, match="stuck_after"):
        Fanout(INTERVAL, stuck_after=0)
    with pytest.raises(ValueError, match="interval"):
        Fanout(-1, STUCK_AFTER)
    with pytest.raises(ValueError, match="max_queued"):
        Fanout(INTERVAL, STUCK_AFTER, max_queued=0)
    with pytest.raises(ValueError, match=r"pacing starts at 0\.002 s, the interval is 0\.05 s"):
        Fanout(INTERVAL, STUCK_AFTER, pacing=Pacing(0.002, INTERVAL, knee=10))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(EVENTS), st.sampled_from(KEYS), st.integers()),
        min_size=1,
        max_size=80,
    ),
    st.lists(st.booleans(), min_size=80, max_size=80),
)
def test_without_a_clock_a_free_client_gets_each_change_at_once_a_busy_one_the_newest_on_drain(
    changes: list[tuple[Any, str, int]], slow_is_free: list[bool]
) -> None:
    """Issue 19, item 1: coalescing driven by the transport. Changes arrive far faster than
    any burst allowance (10,000/s); a client whose queue is empty still gets each at once,
    one whose packet is still queued is watched, and the flush after its queue drained
    brings it up to date in at most one message per event."""
    plant = Plant()
    fanout = Fanout(0, STUCK_AFTER)
    dashboards = {"fast": Dashboard(), "slow": Dashboard()}
    for who in dashboards:
        fanout.connect(who)
    deliver(fanout.flush(0.0, lambda _who: 0, plant.version), plant, dashboards)
    now = 0.0
    for (event, key_, value), free in zip(changes, slow_is_free, strict=False):
        now += 0.0001
        fanout.publish([plant.change(event, key_, value)], now)
        backlogs = {"fast": 0, "slow": 0 if free else 1}
        plan = fanout.flush(now, backlogs.get, plant.version)
        for message in (m for g in plan.groups for m in g.messages):
            # web/src/plant.ts ignores a delta whose version it already holds.
            assert message.payload["version"] > message.payload["prev"], message
        deliver(plan, plant, dashboards)
        assert dashboards["fast"].version == plant.version, "a free client waited"
        assert plan.next_due is None, "no clock: nothing is held for later"
        if free:
            assert dashboards["slow"].version == plant.version
            to_slow = [m for g in plan.groups if "slow" in g.clients for m in g.messages]
            assert len(to_slow) <= len(EVENTS), "one merged message per event at most"
            assert len({m.event for m in to_slow}) == len(to_slow)
        else:
            assert plan.watch == ["slow"] and fanout.drained("slow")
            assert fanout.pending("slow") <= len(EVENTS) * len(KEYS)


def test_a_client_is_written_to_only_when_its_queue_is_empty() -> None:
    plant = Plant()
    fanout = Fanout(0, STUCK_AFTER)
    dashboards = {"c": Dashboard()}
    fanout.connect("c")
    deliver(fanout.flush(0.0, lambda _who: 0, plant.version), plant, dashboards)
    for value in range(5):
        fanout.publish([plant.change("devices_update", "a", value)], 1.0)
        plan = fanout.flush(1.0, lambda _who: 1, plant.version)  # one packet still queued
        assert plan.groups == [] and plan.watch == ["c"]
    plan = fanout.flush(1.0, lambda _who: 0, plant.version)  # its queue drained
    (group,) = plan.groups
    (message,) = group.messages
    assert message.payload == {"prev": 0, "version": 5, "devices": {"a": {"v": 4}}}
    deliver(plan, plant, dashboards)
