"""Trends 3: a gateway entry carries the order its meta lists its devices and relays in, so
every client shows them in that order whatever message arrived first (pure store)."""

from __future__ import annotations

import pytest

from bridge.state.store import Store
from devtools.plant_sim import PlantPlan, device_id, gateway_id
from factory_core.contract import Topics, decode

T = Topics()


def test_readings_before_the_meta_do_not_decide_the_order() -> None:
    plan = PlantPlan(gateways=1, devices=5, relays=3)
    store = Store(first_version=0)
    # Readings of the last devices first: the order they reach the bridge in.
    for d in reversed(range(5)):
        topic, payload, _ = plan.reading(0, d, now=100.0)
        store.apply(decode(T, topic, payload), now=1)
    gw = gateway_id(0)
    assert store.gateways.get(gw, {}).get("device_order", []) == []
    store.apply(decode(T, T.meta(gw), plan.meta(0).to_bytes()), now=2)
    entry = store.gateways[gw]
    assert entry["device_order"] == [device_id(d) for d in range(5)]
    assert entry["relay_order"] == ["relay_1", "relay_2", "relay_3"]
    assert next(iter(store.devices)) == f"{gw}/{device_id(4)}", "the arrival order is another"


def test_the_plant_simulator_plans_every_device_in_turn_and_refuses_bad_sizes() -> None:
    plan = PlantPlan(gateways=3, devices=4, relays=1)
    topics = [plan.next_reading(now=1.0)[0] for _ in range(12)]
    assert len(set(topics)) == 12, "one round reaches every device once"
    assert topics[0] == T.device_state("gw000", "dev00")
    assert sum(1 for t, _, _ in plan.birth(now=1.0) if t.endswith("/meta")) == 3
    # Every bad size at once, each named.
    with pytest.raises(ValueError) as refused:
        PlantPlan(gateways=0, devices=2000, relays=-1)
    assert str(refused.value) == (
        "gateways must be 1..1000, not 0; devices must be 0..1024, not 2000; "
        "relays must be 0..1024, not -1"
    )
