"""The bridge's sans-I/O core: store, coalescer, history. No sockets, no real clock."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.contract import EVENTS, FIELD
from bridge.push.coalesce import Coalescer, Pacing, RateMeter, merge
from bridge.state.sparklines import History
from bridge.state.store import MAX_UNLISTED_PER_GATEWAY, Delta, Store, first_version_for
from factory_core.contract import Topics, decode

T = Topics()
# A bridge process's first version: its start in microseconds, not 0 (docs/api.md, "Versions").
FIRST = first_version_for(1_796_083_200_123_456_789)


def msg(topic: str, payload: bytes | str) -> Any:
    return decode(T, topic, payload.encode() if isinstance(payload, str) else payload)


def meta() -> Any:
    return msg(
        T.meta("line1"),
        '{"version": "1", "name": "Line 1", "devices": [{"id": "temperature", "name": "Oven",'
        ' "kind": "temperature", "unit": "C"}], "relays": [{"id": "relay_1", "name": "Motor"}]}',
    )


def device(value: float, seq: int = 1, ts: float = 100.0) -> Any:
    return msg(
        T.device_state("line1", "temperature"), f'{{"value": {value}, "ts": {ts}, "seq": {seq}}}'
    )


# --------------------------------------------------------------------------- store


def test_store_builds_entries_from_meta_and_states_and_counts_versions() -> None:
    store = Store(first_version=FIRST)
    store.apply(msg(T.status("line1"), "online"), now=1)
    deltas = store.apply(meta(), now=2)
    # The gateway's own alarms follow what its meta says (its name, its silence window).
    assert [d.event for d in deltas] == [
        "gateways_update", "devices_update", "relays_update", "alarms_update"
    ]  # fmt: skip
    assert store.version == FIRST + 6
    assert deltas[-1].version == FIRST + 6 and deltas[-1].prev == FIRST + 5
    (delta,) = store.apply(device(21.5), now=3)
    entry = delta.items["line1/temperature"]
    assert entry["value"] == 21.5 and entry["name"] == "Oven" and entry["unit"] == "C"
    assert entry["quality"] == "good" and entry["ts"] == 100.0
    assert store.apply(device(21.5), now=4) == []  # a repeat changes nothing, costs no version
    assert store.knows_relay("line1", "relay_1") and not store.knows_relay("line1", "relay_9")


def test_store_marks_everything_of_an_offline_gateway_stale() -> None:
    store = Store(first_version=FIRST)
    store.apply(msg(T.status("line1"), "online"), now=1)
    store.apply(meta(), now=1)
    store.apply(device(3), now=1)
    store.apply(msg(T.relay_state("line1", "relay_1"), '{"on": true, "ts": 1, "seq": 2}'), now=1)
    deltas = store.apply(msg(T.status("line1"), "offline"), now=5)
    events = {d.event for d in deltas}
    assert events == {"gateways_update", "devices_update", "relays_update", "alarms_update"}
    assert store.alarms["line1/gateway/offline"]["state"] == "unacked"
    assert store.devices["line1/temperature"]["quality"] == "stale"
    assert store.devices["line1/temperature"]["value"] == 3
    assert store.relays["line1/relay_1"] == {**store.relays["line1/relay_1"], "quality": "stale"}
    assert store.gateways_online() == []
    # A value that arrives for an offline gateway (retained) is stale from the start.
    (late,) = store.apply(device(4, seq=9), now=6)
    assert late.items["line1/temperature"]["quality"] == "stale"


def test_values_that_overtook_the_gateways_online_are_current_once_it_arrives() -> None:
    """Samples come on their own connection: a reconnecting gateway's first readings can reach
    the bridge before its "online" (found by a browser test on a busy box)."""
    store = Store(first_version=FIRST)
    store.apply(msg(T.status("line1"), "online"), now=1)
    store.apply(meta(), now=1)
    store.apply(device(3), now=1)
    store.apply(msg(T.status("line1"), "offline"), now=5)
    store.apply(device(4, seq=9, ts=106), now=6)  # the new session's reading, before its status
    bad = msg(
        T.device_state("line1", "temperature"),
        '{"value": null, "ts": 107, "seq": 10, "quality": "bad"}',
    )
    assert store.devices["line1/temperature"]["quality"] == "stale"
    store.apply(msg(T.relay_state("line1", "relay_1"), '{"on": true, "ts": 7, "seq": 11}'), now=7)
    deltas = store.apply(msg(T.status("line1"), "online"), now=8)
    # ... and its offline alarm returns to normal.
    assert {d.event for d in deltas} == {
        "gateways_update", "devices_update", "relays_update", "alarms_update"
    }  # fmt: skip
    assert store.alarms["line1/gateway/offline"]["state"] == "normal"
    assert store.devices["line1/temperature"]["quality"] == "good"
    assert store.devices["line1/temperature"]["value"] == 4
    assert store.relays["line1/relay_1"]["quality"] == "good"
    # It comes back with the quality it was sent with: a bad reading stays bad.
    store.apply(msg(T.status("line1"), "offline"), now=9)
    store.apply(bad, now=10)
    store.apply(msg(T.status("line1"), "online"), now=11)
    assert store.devices["line1/temperature"]["quality"] == "bad"
    # What stood before the gateway went offline is not vouched for by its return.
    store.apply(msg(T.status("line1"), "offline"), now=12)
    store.apply(msg(T.status("line1"), "online"), now=13)
    assert store.devices["line1/temperature"]["quality"] == "stale"


def test_losing_the_broker_shows_no_gateway_as_live_until_it_says_so_again() -> None:
    store = Store(first_version=FIRST)
    store.apply(msg(T.status("line1"), "online"), now=1)
    store.apply(meta(), now=1)
    store.apply(device(3), now=1)
    deltas = store.broker_lost(now=2)
    assert {d.event for d in deltas} == {"gateways_update", "devices_update"}
    assert store.gateways_online() == []
    assert store.devices["line1/temperature"]["quality"] == "stale"
    assert store.broker_lost(now=3) == [], "nothing more to say while it stays lost"
    # After the reconnect: the retained status, then the republished state.
    store.apply(msg(T.status("line1"), "online"), now=4)
    store.apply(device(5, seq=2), now=4)
    assert store.gateways_online() == ["line1"]
    assert store.devices["line1/temperature"]["quality"] == "good"


def test_ids_missing_from_meta_are_shown_but_bounded_per_gateway() -> None:
    store = Store(first_version=FIRST)
    store.apply(meta(), now=1)
    for i in range(MAX_UNLISTED_PER_GATEWAY + 50):
        store.apply(msg(T.device_state("line1", f"stray{i}"), '{"value": 1, "ts": 1, "seq": 1}'), 1)
    assert len([k for k in store.devices if "stray" in k]) == MAX_UNLISTED_PER_GATEWAY
    # Listed devices, and strays already shown, keep updating.
    assert store.apply(device(7, seq=2), now=2)
    (again,) = store.apply(
        msg(T.device_state("line1", "stray0"), '{"value": 2, "ts": 2, "seq": 2}'), 2
    )
    assert again.items["line1/stray0"]["value"] == 2


def test_store_events_since_and_resync() -> None:
    store = Store(event_buffer=3, first_version=FIRST)
    for i in range(5):
        store.apply(device(i, seq=i), now=i)
    assert store.version == FIRST + 5
    assert [d.version for d in store.events_since(FIRST + 3) or []] == [FIRST + 4, FIRST + 5]
    assert store.events_since(FIRST + 5) == []
    assert store.events_since(FIRST + 1) is None  # older than the ring remembers
    assert store.events_since(FIRST + 6) is None  # from a bridge process started later
    assert store.events_since(FIRST - 1) is None  # from one started earlier


# --------------------------------------------------------------------------- coalescer


def delta(version: int, event: str = "devices_update", **items: Any) -> Delta:
    return Delta(event, version - 1, version, {k: {"v": v} for k, v in items.items()})  # type: ignore[arg-type]


def test_idle_client_gets_an_update_at_once() -> None:
    c = Coalescer(interval=0.05, version=0)
    c.offer(delta(1, a=1))
    (out,) = c.take(now=100.0)
    assert out.payload == {"prev": 0, "version": 1, "devices": {"a": {"v": 1}}}
    assert c.due_at() is None


def test_burst_is_merged_newest_value_per_key_within_the_interval() -> None:
    c = Coalescer(interval=0.05, version=0)
    c.offer(delta(1, a=1))
    assert len(c.take(now=10.0)) == 1
    for v in range(2, 1002):
        c.offer(delta(v, a=v, b=-v))
    assert c.take(now=10.01) == []  # inside the interval: held
    assert c.pending == 2  # bounded by keys, not by the 1000 updates
    assert c.due_at() == pytest.approx(10.05)
    (out,) = c.take(now=10.05)
    assert out.payload == {
        "prev": 1,
        "version": 1001,
        "devices": {"a": {"v": 1001}, "b": {"v": -1001}},
    }


def test_flush_chains_versions_across_events_and_skips_what_the_snapshot_holds() -> None:
    c = Coalescer(interval=1.0, version=5)
    c.offer(delta(5, a=0))  # already in the full state at version 5
    c.offer(delta(6, a=1))
    c.offer(delta(7, "relays_update", r=True))
    c.offer(delta(8, a=2))
    first, second = c.take(now=0.0)
    assert (first.event, first.payload["prev"], first.payload["version"]) == ("relays_update", 5, 7)
    assert (second.event, second.payload["prev"], second.payload["version"]) == (
        "devices_update",
        7,
        8,
    )
    c.offer(delta(9, a=3))
    c.reset(9)  # the client asked for the full state meanwhile
    assert c.take(now=5.0) == [] and c.due_at() is None


def test_each_event_has_its_own_interval_and_the_chain_never_breaks() -> None:
    c = Coalescer(interval=0.05, version=0)
    c.offer(delta(1, a=1))
    assert len(c.take(now=1.0)) == 1
    c.offer(delta(2, a=2))  # devices: held until 1.05
    c.offer(delta(3, "system_stats_update", bridge=1))  # a quiet event goes out at once
    (stats,) = c.take(now=1.01)
    assert (stats.event, stats.payload["prev"], stats.payload["version"]) == (
        "system_stats_update", 1, 3,
    )  # fmt: skip
    (devices,) = c.take(now=1.05)
    assert devices.payload == {"prev": 3, "version": 3, "devices": {"a": {"v": 2}}}


def test_interval_zero_disables_coalescing() -> None:
    c = Coalescer(interval=0, version=0)
    for v in range(1, 4):
        c.offer(delta(v, a=v))
        assert [o.payload["version"] for o in c.take(now=1.0)] == [v]


updates = st.lists(
    st.tuples(st.sampled_from(EVENTS), st.sampled_from("abcd"), st.integers(), st.booleans()),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(updates=updates, interval=st.sampled_from([0, 0.05, 0.3]))
def test_coalesced_stream_gives_the_same_final_state_as_every_delta(
    updates: list[tuple[str, str, int, bool]], interval: float
) -> None:
    direct: dict[str, dict[str, Any]] = {FIELD[e]: {} for e in EVENTS}
    client: dict[str, dict[str, Any]] = {FIELD[e]: {} for e in EVENTS}
    held = 0
    c = Coalescer(interval, version=0)
    now = 0.0
    for version, (event, key, value, flush) in enumerate(updates, start=1):
        d = Delta(event, version - 1, version, {key: {"v": value}})  # type: ignore[arg-type]
        direct[FIELD[d.event]].update(d.items)
        c.offer(d)
        now += 0.02
        if flush:
            for out in c.take(now):
                assert out.payload["prev"] == held  # never a gap
                held = out.payload["version"]
                client[FIELD[out.event]].update(out.payload[FIELD[out.event]])
    for out in c.take(now + 1):
        assert out.payload["prev"] == held
        held = out.payload["version"]
        client[FIELD[out.event]].update(out.payload[FIELD[out.event]])
    assert client == direct
    assert held == len(updates)


# --------------------------------------------------------------------------- history


def test_history_is_bucketed_and_bounded() -> None:
    h = History(window=100, points=10)  # 10 s buckets
    for t in range(0, 1000):
        h.add("k", float(t), t)
    points = h.get("k")
    assert len(points) == 10
    assert points[-1] == (999.0, 999)  # the last value of the newest bucket
    assert points[0][0] >= 900  # nothing older than the window before the newest sample
    assert [p[0] for p in points] == sorted(p[0] for p in points)


def test_history_ignores_late_and_null_samples() -> None:
    h = History(window=60, points=6)
    h.add("k", 100.0, 1.5)
    h.add("k", 50.0, 9.9)  # older than the newest bucket
    h.add("k", 101.0, None)
    h.add("k", 102.0, float("nan"))
    h.add("k", 130.0, True)
    assert h.get("k") == [(100.0, 1.5), (130.0, True)]
    assert h.get("other") == []
    with pytest.raises(ValueError, match="points"):
        History(window=10, points=1)


def test_a_quiet_event_is_forwarded_at_once_and_a_busy_one_is_held() -> None:
    meter = RateMeter(interval=0.05, burst=3)
    c = Coalescer(interval=0.05, version=0)
    for v, t in enumerate([1.00, 1.01, 1.02], start=1):  # 3 within 50 ms: not busy yet
        meter.record("devices_update", t)
        c.offer(delta(v, a=v))
        (out,) = c.take(now=t, busy=meter.busy(t))
        assert out.payload["version"] == v
    meter.record("devices_update", 1.03)  # the 4th within 50 ms: busy
    c.offer(delta(4, a=4))
    assert meter.busy(1.03) == {"devices_update"}
    assert c.take(now=1.03, busy=meter.busy(1.03)) == []
    assert c.due_at(meter.busy(1.03)) == pytest.approx(1.07)
    (held,) = c.take(now=1.07, busy=meter.busy(1.07))
    assert held.payload["devices"] == {"a": {"v": 4}}
    assert meter.busy(1.2) == set(), "quiet again once the window has passed"


def test_pacing_is_2_ms_up_to_the_knee_grows_with_the_rate_and_is_capped_at_twice_it() -> None:
    pacing = Pacing(least=0.002, most=0.05, knee=4000, window=0.2)
    assert pacing.interval(0.0) == 0.002  # nothing yet
    pacing.record(1.0, 800)  # 800 changes in 0.2 s: 4,000/s, the knee
    assert pacing.rate(1.0) == pytest.approx(4000)
    assert pacing.interval(1.0) == pytest.approx(0.002)
    pacing.record(1.1, 400)  # 1,200 in the window: 6,000/s, halfway to twice the knee
    assert pacing.interval(1.1) == pytest.approx(0.026)
    pacing.record(1.15, 10_000)
    assert pacing.interval(1.15) == pytest.approx(0.05), "capped at twice the knee and above"
    # The first 800 leave the window after 0.2 s; once all have, ordinary load again.
    assert pacing.rate(1.21) == pytest.approx(10_400 / 0.2)
    assert pacing.interval(1.4) == pytest.approx(0.002)


def test_a_fixed_pacing_ignores_the_rate_and_bad_values_are_named() -> None:
    fixed = Pacing(least=0.05, most=0.05, knee=1)
    fixed.record(0.0, 1_000_000)
    assert fixed.interval(0.0) == 0.05
    with pytest.raises(ValueError, match=r"under load \(0.001\) must be >= 0.002"):
        Pacing(least=0.002, most=0.001, knee=4000)
    with pytest.raises(ValueError, match="knee must be > 0 changes/s, got 0"):
        Pacing(least=0.002, most=0.05, knee=0)
    with pytest.raises(ValueError, match="must be >= 0, got -1"):
        Pacing(least=-1, most=0.05, knee=1)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 0.5), st.integers(0, 5000)), max_size=40))
def test_pacing_stays_between_its_bounds_and_never_shrinks_as_the_rate_grows(
    arrivals: list[tuple[float, int]],
) -> None:
    pacing = Pacing(least=0.002, most=0.05, knee=4000)
    now = 0.0
    seen: list[tuple[float, float]] = []
    for gap, changes in arrivals:
        now += gap
        pacing.record(now, changes)
        seen.append((pacing.rate(now), pacing.interval(now)))
    for rate, interval in seen:
        assert 0.002 <= interval <= 0.05
        assert (interval == 0.002) == (rate <= 4000)
        assert (interval == 0.05) == (rate >= 8000)
    by_rate = [interval for _, interval in sorted(seen)]
    assert by_rate == sorted(by_rate), "a higher rate never gets a shorter interval"


def test_merge_keeps_the_newest_value_per_key_and_the_newest_version() -> None:
    merged = merge([delta(1, a=1, b=1), delta(2, "relays_update", r=True), delta(3, a=3)])
    assert [(d.event, d.version, d.items) for d in merged] == [
        ("relays_update", 2, {"r": {"v": True}}),
        ("devices_update", 3, {"a": {"v": 3}, "b": {"v": 1}}),
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.sampled_from(EVENTS), st.sampled_from("abc"), st.integers(0, 9)),
            max_size=4,
        ),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.sets(st.sampled_from(EVENTS)), min_size=12, max_size=12),
)
def test_a_client_in_step_gets_what_its_own_offer_and_take_would_give(
    flushes: list[list[tuple[Any, str, int]]], busy_per_flush: list[set[Any]]
) -> None:
    """The flusher's shortcut for clients in step must not change what any client gets."""
    own, shortcut = Coalescer(0.05, 0), Coalescer(0.05, 0)
    version, now = 0, 1.0
    for changes, busy in zip(flushes, busy_per_flush, strict=False):
        deltas = []
        for event, k, v in changes:
            version += 1
            deltas.append(Delta(event, version - 1, version, {k: {"v": v}}))
        batch = merge(deltas)
        now += 0.03
        for d in batch:
            own.offer(d)
        expected = own.take(now, busy)
        events = [d.event for d in batch]
        base = min((d.prev for d in batch), default=-1)
        if batch and shortcut.in_step(base, events, now, busy):
            reference = Coalescer(0.05, base)
            for d in batch:
                reference.offer(d)
            got = reference.take(now, ())
            shortcut.sent(reference.sent_version, events, now)
        else:
            for d in batch:
                shortcut.offer(d)
            got = shortcut.take(now, busy)
        assert got == expected
        assert shortcut.sent_version == own.sent_version
        assert shortcut.due_at(busy) == own.due_at(busy)
