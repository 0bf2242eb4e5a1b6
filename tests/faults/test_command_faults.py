"""Issue 7, faults 6, 7 and 8: a command delivered twice, a crash between switching and
answering, and a command delivered long after its sender gave up."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from faults_helpers import (
    GW,
    PUMP,
    Rig,
    command_payload,
    figure,
    result_for,
    topics,
)

from devtools.waits import wait_for

RESULTS = f"{topics.prefix}/{GW}/relays/+/result"


def test_the_same_command_twice_runs_once(rig: Rig) -> None:
    """Pass: a command id delivered twice (a QoS 1 redelivery or a second publish) moves the
    pin once; the second delivery is answered `duplicate`."""
    with rig.probe([RESULTS]) as probe:
        since = time.time()
        payload = command_payload(True, "twice-1", time.time() + 30)
        probe.publish(topics.relay_set(GW, "pump"), payload)
        probe.publish(topics.relay_set(GW, "pump"), payload)
        wait_for(lambda: len([m for m in probe.messages if result_for("twice-1")(m)]) >= 2, 10,
                 "two answers")  # fmt: skip
        answers = [json.loads(m.payload) for m in probe.messages if result_for("twice-1")(m)]
    assert [a["ok"] for a in answers] == [True, False], answers
    assert answers[1]["error"] == "duplicate", answers
    assert len(rig.board.writes(PUMP, since=since)) == 1, rig.board.writes(PUMP, since=since)
    assert len(rig.audit("twice-1")) == 2  # executed, then rejected as a duplicate


def test_gateway_killed_between_switching_and_answering(rig: Rig) -> None:
    """Pass: the pin was written, the gateway died before answering; after the restart the
    same command, delivered again, is answered `duplicate` and the pin stays where start-up
    put it."""
    rig.board.slow_writes(PUMP, 60)  # the driver hangs after taking the level
    with rig.probe([RESULTS, topics.status(GW)]) as probe:
        since = time.time()
        payload = command_payload(True, "crash-1", time.time() + 60)
        probe.publish(topics.relay_set(GW, "pump"), payload)
        wait_for(lambda: rig.board.writes(PUMP, since=since), 10, "the pump's pin written")
        rig.gateway.kill()
        assert not [m for m in probe.messages if result_for("crash-1")(m)], "it had answered"

        rig.board.slow_writes(PUMP, 0)
        restarted = time.time()
        rig.gateway.start()
        probe.wait_for(
            lambda m: m.topic == topics.status(GW) and m.text == "online" and m.at > restarted,
            20,
            "the gateway online again",
        )
        probe.publish(topics.relay_set(GW, "pump"), payload)  # the redelivery
        answer = json.loads(probe.wait_for(result_for("crash-1"), 10).payload)
    assert answer["ok"] is False and answer["error"] == "duplicate", answer
    assert rig.board.writes(PUMP, since=restarted) == [], "the command ran again"
    assert rig.board.level(PUMP) is False, "start-up must leave the pump at its safe state"


def test_a_command_delivered_late_is_rejected_as_expired(
    rig_factory: Callable[..., Rig],
) -> None:
    """Pass: the bridge's link stalls (command time-to-live 1 s) until the operator has got
    `timeout`; the command reaches the gateway when the link recovers, after its deadline, and
    is answered `expired`; no pin moves. A command published with a deadline a minute in the
    past is `expired` as well."""
    rig = rig_factory(bridge_env={"FACTORY_COMMAND_TTL": "1"})
    rig.mirror()
    with rig.probe([RESULTS]) as probe:
        since = time.time()
        rig.bridge_link.stall()
        outcome = rig.command("pump", True)
        told = time.time()
        assert outcome["ok"] is False and outcome["error"] == "timeout", outcome
        # The bridge says `timeout` only after the time-to-live and its grace (0.7 s, more than
        # the gateway's clock-skew allowance): whatever arrives from now on is past its deadline
        # for the gateway, however slow this box is. The safety rule: it must not run.
        rig.bridge_link.pass_()
        late = probe.wait_for(result_for(outcome["id"]), 15, "the late command's answer")
        answer = json.loads(late.payload)
        assert answer["ok"] is False and answer["error"] == "expired", answer
        figure("late command: gateway's `expired` after the operator's timeout, s", late.at - told)

        probe.publish(
            topics.relay_set(GW, "pump"), command_payload(True, "stale-1", time.time() - 60)
        )
        answer = json.loads(probe.wait_for(result_for("stale-1"), 10).payload)
        assert answer["ok"] is False and answer["error"] == "expired", answer
    assert rig.board.writes(PUMP, since=since) == [], "an expired command moved the pump"
