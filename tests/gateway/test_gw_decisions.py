"""The sans-I/O parts: command decisions, the executed-id store, deadband, rate-limited logs;
and a property test of command handling on a simulated board (no sockets)."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factory_core.contract import CommandResult, RelayCommand, Topics
from factory_core.ratelimited_log import RateLimitedLog
from gateway.actuation import IncomingCommand, Outbound, RelayController
from gateway.actuation_decision import Clocks, Execute, Reject, RelayRules, RelayStatus, decide
from gateway.command_log import CommandLog
from gateway.config import RelayConfig
from gateway.deadband import Deadband
from gateway.hardware.simulated import SimulatedBoard
from gateway.relays import Relay
from gateway.worker import Handle, Job, Worker

NOW = 1_800_000_000.0
TOPIC = "factory/gw/relays/r1/set"


def _decide(payload: bytes | dict[str, object], **kw: object) -> Execute | Reject:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    args: dict[str, object] = {
        "rules": RelayRules(min_interval_s=10),
        "status": RelayStatus(on=False, last_change=None),
        "clocks": Clocks(wall=NOW, mono=100.0),
        "clock_skew_s": 2.0,
        "mqtt_expires_at": None,
        "already_executed": lambda _cid: False,
    }
    args.update(kw)
    return decide(TOPIC, raw, **args)  # type: ignore[arg-type]


def cmd(on: bool = True, cid: str = "c1", deadline: float = NOW + 5) -> dict[str, object]:
    return {"on": on, "id": cid, "by": "alice", "deadline": deadline}


def test_a_well_formed_fresh_command_executes() -> None:
    decision = _decide(cmd())
    assert isinstance(decision, Execute)
    assert decision.command == RelayCommand(on=True, id="c1", by="alice", deadline=NOW + 5)


@pytest.mark.parametrize(
    ("payload", "cid", "fragment"),
    [
        (b"not json", None, "not valid JSON"),
        (b"[1, 2]", None, "expected a JSON object"),
        (json.dumps({"on": "yes", "id": "c9", "deadline": NOW}).encode(), "c9", "on"),
        (json.dumps({"on": True, "deadline": NOW}).encode(), None, "id"),
        (json.dumps({"on": True, "id": "c8"}).encode(), "c8", "deadline"),
    ],
)
def test_a_malformed_command_is_invalid_and_names_the_problem(
    payload: bytes, cid: str | None, fragment: str
) -> None:
    decision = _decide(payload)
    assert isinstance(decision, Reject)
    assert (decision.error, decision.command_id) == ("invalid", cid)
    assert fragment in decision.detail


def test_unknown_relay_duplicate_and_expiry_are_rejected() -> None:
    unknown = _decide(cmd(), rules=None, status=None)
    assert isinstance(unknown, Reject) and unknown.error == "unknown_relay"
    dup = _decide(cmd(cid="seen"), already_executed=lambda cid: cid == "seen")
    assert isinstance(dup, Reject) and dup.error == "duplicate"
    late = _decide(cmd(deadline=NOW - 2.5))
    assert isinstance(late, Reject) and late.error == "expired"
    assert "2.500 s ago" in late.detail
    mqtt_expired = _decide(cmd(), mqtt_expires_at=99.0)
    assert isinstance(mqtt_expired, Reject) and mqtt_expired.error == "expired"


def test_a_deadline_within_the_clock_skew_allowance_still_runs() -> None:
    assert isinstance(_decide(cmd(deadline=NOW - 1.5)), Execute)


def test_minimum_switch_interval_applies_only_to_a_real_switch() -> None:
    recent = RelayStatus(on=False, last_change=95.0)
    too_soon = _decide(cmd(on=True), status=recent)
    assert isinstance(too_soon, Reject) and too_soon.error == "too_soon"
    assert isinstance(_decide(cmd(on=False), status=recent), Execute)  # no change of state
    later = RelayStatus(on=False, last_change=89.0)
    assert isinstance(_decide(cmd(on=True), status=later), Execute)


def test_command_log_remembers_ids_across_instances_and_compacts(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ids.log"
    log = CommandLog(path, capacity=3)
    for n in range(10):
        log.record(f"c{n}")
    assert "c9" in log and "c0" not in log
    reopened = CommandLog(path, capacity=3)
    assert {"c7", "c8", "c9"} == {c for c in (f"c{n}" for n in range(10)) if c in reopened}
    assert len(path.read_text().splitlines()) <= 6


def test_deadband_publishes_changes_quality_flips_and_periodically() -> None:
    d = Deadband(deadband=0.5, max_silence_s=60)
    assert d.offer(20.0, now=0)
    assert not d.offer(20.4, now=1)  # noise
    assert d.offer(20.6, now=2)
    assert not d.offer(20.2, now=3)  # compared with 20.6, the last published
    assert d.offer(None, now=4)  # unreadable
    assert not d.offer(None, now=5)
    assert d.offer(20.2, now=6)  # readable again
    assert d.offer(20.2, now=66)  # periodic
    digital = Deadband(deadband=0, max_silence_s=60)
    assert digital.offer(False, now=0)
    assert not digital.offer(False, now=1)
    assert digital.offer(True, now=2)


def test_rate_limited_log_drops_a_flood_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    clock = [0.0]
    limited = RateLimitedLog(logging.getLogger("flood"), interval_s=10, clock=lambda: clock[0])
    with caplog.at_level(logging.WARNING, "flood"):
        for _ in range(100):
            limited.warning("topic", "bad topic")
        clock[0] = 11
        limited.warning("topic", "bad topic")
    assert [r.getMessage() for r in caplog.records] == [
        "bad topic",
        "bad topic (99 similar messages suppressed)",
    ]


def test_worker_runs_jobs_in_time_order() -> None:
    worker = Worker("t")
    ran: list[str] = []
    worker.call_later(0.2, lambda: ran.append("late"))
    worker.call_soon(lambda: ran.append("first"))
    worker.call_soon(lambda: ran.append("second"))
    cancelled = worker.call_later(0.1, lambda: ran.append("cancelled"))
    cancelled.cancel()
    worker.start()
    worker.call_soon(lambda: 1 / 0)  # a failing job does not stop the worker
    assert worker.run_sync(lambda: None)
    ended = threading.Event()
    worker.call_later(0.3, lambda: (ran.append("end"), ended.set()))
    assert ended.wait(30), f"the last job did not run: {ran}"
    worker.stop()
    assert ran == ["first", "second", "late", "end"]


# --------------------------------------------------------------- property test

PINS = {"r1": 5, "r2": 6}


def _controller(tmp_path: Path) -> tuple[RelayController, SimulatedBoard, list[Outbound]]:
    board = SimulatedBoard()
    relays = [
        Relay(RelayConfig(id=rid, name=rid, pin=pin, min_interval_s=0), board)
        for rid, pin in PINS.items()
    ]
    sent: list[Outbound] = []

    def schedule(_delay: float, _job: Job) -> Handle:
        raise AssertionError("no pulse relay on this board")

    controller = RelayController(
        "gw",
        Topics(),
        relays,
        CommandLog(tmp_path / "ids.log"),
        send=sent.append,
        schedule=schedule,
        clock_skew_s=0,
        wall=lambda: NOW,
    )
    controller.boot()
    return controller, board, sent


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=8,
)
command_like = st.fixed_dictionaries(
    {},
    optional={
        "on": st.booleans() | json_values,
        "id": st.from_regex(r"[A-Za-z0-9_.:-]{1,20}", fullmatch=True) | json_values,
        "by": st.text(max_size=10) | json_values,
        "deadline": st.sampled_from([NOW - 10, NOW + 10]) | json_values,
    },
).map(lambda d: json.dumps(d).encode())
payloads = st.binary(max_size=200) | command_like


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(relay=st.sampled_from(["r1", "r2", "nope"]), payload=payloads)
def test_any_payload_never_raises_and_moves_a_pin_only_when_valid(
    tmp_path_factory: pytest.TempPathFactory, relay: str, payload: bytes
) -> None:
    controller, board, sent = _controller(tmp_path_factory.mktemp("h"))
    before = {pin: board.read(pin) for pin in PINS.values()}
    controller.handle(IncomingCommand(f"factory/gw/relays/{relay}/set", relay, payload))
    after = {pin: board.read(pin) for pin in PINS.values()}
    results = [o.payload for o in sent if isinstance(o.payload, CommandResult)]
    assert len(results) <= 1
    if after != before:
        command = RelayCommand.model_validate_json(payload)
        assert relay in PINS and command.deadline >= NOW
        assert after[PINS[relay]] is command.on
        assert results[0].ok and results[0].on is command.on
    elif results and results[0].ok:
        assert RelayCommand.model_validate_json(payload).on is False  # already off: no move


flat_values = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
flat_commands = st.fixed_dictionaries(
    {},
    optional={
        "on": flat_values,
        "id": st.from_regex(r"[A-Za-z0-9_.:-]{1,20}", fullmatch=True) | flat_values,
        "by": flat_values,
        "deadline": st.sampled_from([NOW - 10, NOW + 10]) | flat_values,
    },
).map(lambda d: json.dumps(d).encode())


# 10,000 inputs took 33 s on the shared, busy 2-core box (measured), a quarter of the suite's
# default 120 s timeout. CPU time, not a wait: a slow run is not a failure.
@pytest.mark.timeout(600)
@pytest.mark.fuzz
@settings(max_examples=10_000, deadline=None)
@given(payload=st.binary(max_size=120) | flat_commands, executed=st.booleans())
def test_fuzz_the_command_decision(payload: bytes, executed: bool) -> None:
    """10,000 generated payloads: only a well-formed, fresh, new command may execute."""
    decision = decide(
        TOPIC,
        payload,
        rules=RelayRules(),
        status=RelayStatus(on=False, last_change=None),
        clocks=Clocks(wall=NOW, mono=100.0),
        clock_skew_s=0,
        mqtt_expires_at=None,
        already_executed=lambda _id: executed,
    )
    if isinstance(decision, Execute):
        command = RelayCommand.model_validate_json(payload)
        assert command == decision.command
        assert command.deadline >= NOW and not executed
    else:
        assert decision.error in {"invalid", "duplicate", "expired"}
