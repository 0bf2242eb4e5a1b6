"""Issue 7, faults 1 and 2: the broker dies (SIGKILL) or restarts without its persistence."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from faults_helpers import (
    BRAKE,
    GW,
    PUMP,
    RECONNECT_MAX_S,
    Rig,
    describe,
    figure,
    mirrors_show_board,
    topics,
    wait_for,
)

CONVERGE_S = 2.0


def _reconnected(rig: Rig, since: float) -> tuple[float, float]:
    """When gateway and bridge reached the broker again (their first link after ``since``)."""
    at = []
    for name, link in (("gateway", rig.gw_link), ("bridge", rig.bridge_link)):
        wait_for(lambda link=link: link.upstream_since(since), 20, f"{name} reconnect")  # type: ignore[misc]
        first = link.upstream_since(since)
        assert first is not None
        at.append(first)
    return at[0], at[1]


def _switch(rig: Rig, wanted: dict[str, bool]) -> list[str]:
    ids = []
    for relay, on in wanted.items():
        outcome = rig.command(relay, on)
        assert outcome["ok"] is True, outcome
        ids.append(outcome["id"])
    wait_for(lambda: mirrors_show_board(rig), 10, f"clients agree first: {describe(rig)}")
    return ids


def test_broker_killed_and_restarted(rig_factory: Callable[..., Rig]) -> None:
    """Pass: gateway and bridge reconnect within the backoff ceiling (5 s) of the broker being
    back; within 2 s after that every client shows each relay at its level on the board; each
    command ran once; the only relay moves meanwhile are `safe` relays' link-loss moves."""
    rig = rig_factory(gateway_env={"FACTORY_LINK_LOSS_TIMEOUT_S": "2"})
    rig.mirror()
    rig.mirror(via_proxy=True)
    ids = _switch(rig, {"pump": True, "light": True, "brake": False})

    cut = time.time()
    rig.broker.stop(kill=True)
    time.sleep(3.0)  # longer than the link-loss timeout: `safe` relays must move, `hold` not
    rig.broker.start()
    back = time.time()
    gw_at, bridge_at = _reconnected(rig, cut)
    for who, at in (("gateway", gw_at), ("bridge", bridge_at)):
        assert at - back <= RECONNECT_MAX_S + 1, (
            f"{who} reconnected {at - back:.2f} s after the broker was back "
            f"(backoff ceiling {RECONNECT_MAX_S} s)"
        )
    both = max(gw_at, bridge_at)
    figure("broker kill: gateway reconnect after broker back, s", gw_at - back)
    figure("broker kill: bridge reconnect after broker back, s", bridge_at - back)
    converged = wait_for(lambda: mirrors_show_board(rig), 15, f"convergence: {describe(rig)}")
    assert converged - both <= CONVERGE_S, (
        f"clients showed the board {converged - both:.2f} s after both reconnected "
        f"(criterion {CONVERGE_S} s)"
    )
    figure("broker kill: clients show the board after both reconnected, s", converged - both)
    moves = {(m["pin"], m["level"]) for m in rig.board.moves(since=cut)}
    assert moves == {(PUMP, 0), (BRAKE, 1)}, f"only link-loss moves expected, got {moves}"
    for cid in ids:
        assert len(rig.audit(cid)) == 1, f"command {cid}: {rig.audit(cid)}"


def test_broker_restarted_without_its_persistence(rig_factory: Callable[..., Rig]) -> None:
    """Pass: with every retained message gone, the gateway republishes: within 2 s of both
    reconnecting every client shows the board again, the broker holds the gateway's retained
    state again, and no relay moved."""
    rig = rig_factory()
    rig.mirror()
    rig.mirror(via_proxy=True)
    _switch(rig, {"pump": True, "brake": False})

    cut = time.time()
    rig.broker.restart(wipe_persistence=True)
    back = time.time()
    gw_at, bridge_at = _reconnected(rig, cut)
    assert max(gw_at, bridge_at) - back <= RECONNECT_MAX_S + 1, (
        f"reconnected {max(gw_at, bridge_at) - back:.2f} s after the broker was back"
    )
    converged = wait_for(lambda: mirrors_show_board(rig), 15, f"convergence: {describe(rig)}")
    assert converged - max(gw_at, bridge_at) <= CONVERGE_S, (
        f"clients showed the board {converged - max(gw_at, bridge_at):.2f} s after both "
        f"reconnected (criterion {CONVERGE_S} s)"
    )
    figure("broker wiped: clients show the board after both reconnected, s",
           converged - max(gw_at, bridge_at))  # fmt: skip
    assert rig.board.moves(since=cut) == [], "a relay moved because of the broker's restart"

    with rig.probe([f"{topics.prefix}/{GW}/#"]) as late:  # what a newcomer gets, retained
        late.wait_for(lambda m: m.topic == topics.status(GW) and m.text == "online", 10)
        late.wait_for(lambda m: m.topic == topics.meta(GW) and m.retain, 10)
        pump = late.wait_for(lambda m: m.topic == topics.relay_state(GW, "pump") and m.retain, 10)
        assert json.loads(pump.payload)["on"] is True
