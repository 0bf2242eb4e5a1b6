"""The store's rule for gateways behind an edge broker (pure): shown online only while their
own status says online and their edge's link to this broker is up; a rebirth is asked once
the link is back and carries their messages again (docs/mqtt-contract.md, "Edge brokers")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.settings import SettingsError, parse_settings
from bridge.state.store import Store
from factory_core.contract import PayloadError, Topics, decode

T = Topics()
BEHIND = {"line1": "hall-a", "line2": "hall-a", "line3": "hall-b"}


def msg(topic: str, payload: str) -> Any:
    return decode(T, topic, payload.encode())


def status(gw: str, online: bool) -> Any:
    return msg(T.status(gw), "online" if online else "offline")


def link(edge: str, up: bool) -> Any:
    return msg(T.edge_link(edge), "1" if up else "0")


def relay_set(gw: str) -> Any:
    return msg(T.relay_set(gw, "relay_1"), '{"on": true, "id": "c1", "deadline": 1}')


def plant() -> Store:
    store = Store(behind_edges={**BEHIND, "line4": "hall-c"}, first_version=0)
    for gw in ("line1", "line2", "line3"):
        store.apply(status(gw, True), 1.0)
    store.apply(status("line9", True), 1.0)  # on the central broker itself
    return store


def test_an_edge_link_down_shows_exactly_its_gateways_offline_with_their_alarm() -> None:
    store = plant()
    store.apply(link("hall-a", False), 2.0)
    assert [gw for gw in ("line1", "line2", "line3", "line9") if store.is_online(gw)] == [
        "line3",
        "line9",
    ]
    assert store.gateways["line1"]["status"] == "offline"
    assert store.alarm("line1", "gateway", "offline")["active"] is True  # type: ignore[index]
    # Its gateway's retained "online" cannot lift that while the link is down.
    store.apply(status("line1", True), 3.0)
    assert store.is_online("line1") is False


def test_when_the_link_is_back_each_gateway_is_what_its_own_status_says() -> None:
    store = plant()
    store.apply(link("hall-a", False), 2.0)
    store.apply(status("line2", False), 2.5)  # its last will, had it crossed
    store.apply(link("hall-a", True), 3.0)
    assert store.is_online("line1") is True
    assert store.is_online("line2") is False
    assert store.alarm("line1", "gateway", "offline")["active"] is False  # type: ignore[index]


def test_a_rebirth_is_asked_once_the_link_back_carries_a_gateways_message() -> None:
    store = plant()
    store.apply(link("hall-a", True), 1.5)  # the retained "1" a starting bridge reads
    assert store.take_rebirth_request() is False, "the bridge's own start asks one already"
    store.apply(link("hall-a", False), 2.0)
    store.apply(link("hall-a", True), 3.0)
    # The edge announces itself before it subscribes: too early for a rebirth to reach it.
    assert store.take_rebirth_request() is False
    store.apply(relay_set("line1"), 3.1)  # a command on its way in proves nothing
    store.apply(status("line3", True), 3.1)  # another edge's gateway neither
    assert store.take_rebirth_request() is False
    store.apply(status("line1", True), 3.2)  # re-sent by the edge from its store
    assert store.take_rebirth_request() is True
    store.apply(status("line2", True), 3.3)
    assert store.take_rebirth_request() is False, "one rebirth per return of the link"


def test_an_edge_link_payload_other_than_1_or_0_is_refused() -> None:
    with pytest.raises(PayloadError, match="edge link state must be '1' or '0'"):
        decode(T, T.edge_link("hall-a"), b"up")


events = st.lists(
    st.one_of(
        st.tuples(st.just("status"), st.sampled_from(sorted(BEHIND)), st.booleans()),
        st.tuples(st.just("link"), st.sampled_from(["hall-a", "hall-b"]), st.booleans()),
    ),
    max_size=30,
)


@given(events)
def test_a_gateway_is_online_exactly_when_its_status_and_its_edge_link_say_so(
    history: list[tuple[str, str, bool]],
) -> None:
    """Whatever order the retained statuses and link states arrive in."""
    store = Store(behind_edges=BEHIND, first_version=0)
    said: dict[str, bool] = {}
    up = {"hall-a": True, "hall-b": True}
    for n, (kind, name, value) in enumerate(history):
        if kind == "status":
            said[name] = value
            store.apply(status(name, value), float(n))
        else:
            up[name] = value
            store.apply(link(name, value), float(n))
    for gw, online in said.items():
        assert store.is_online(gw) is (online and up[BEHIND[gw]])


def test_a_bad_plant_file_is_a_start_up_error_naming_it(tmp_path: Path) -> None:
    plant = tmp_path / "plant.toml"
    plant.write_text('gateways = ["line1"]\n[edges.hall-a]\naddress = "c"\ngateways = ["line1"]\n')
    with pytest.raises(SettingsError) as refused:
        parse_settings({"FACTORY_PLANT_FILE": str(plant)})
    assert str(refused.value).splitlines()[1].lstrip().startswith("FACTORY_PLANT_FILE='")
    assert "edges.hall-a: no bridge login" in str(refused.value)
    with pytest.raises(SettingsError, match="cannot read the plant description"):
        parse_settings({"FACTORY_PLANT_FILE": str(tmp_path / "missing.toml")})
