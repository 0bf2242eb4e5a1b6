"""The interlock evaluator, pure: refusals, trips, unsound rule sets, and the property that no
command sequence ever reaches a pin state that breaks a rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from gw_helpers import board
from hypothesis import given, settings
from hypothesis import strategies as st

from factory_core.contract import InterlockRule
from gateway.config import ConfigError, parse_config
from gateway.interlock_decision import Interlocks, holds, problems

HEATER_NEEDS_FAN = InterlockRule(
    id="heater_needs_fan", kind="requires", relay="heater", other="fan"
)
PUMPS = InterlockRule(id="one_pump", kind="excludes", relay="pump_a", other="pump_b")
GUARD = InterlockRule(
    id="guard_closed", kind="permissive", relay="press", other="guard", state=True
)
RULES = Interlocks([HEATER_NEEDS_FAN, PUMPS, GUARD])
ALL_OFF = {"heater": False, "fan": False, "pump_a": False, "pump_b": False, "press": False}


def test_requires_refuses_until_the_needed_relay_is_on() -> None:
    assert RULES.refusal("heater", True, ALL_OFF, {"guard": True}) == HEATER_NEEDS_FAN
    assert RULES.refusal("heater", True, {**ALL_OFF, "fan": True}, {}) is None
    # Off is always allowed; the fan may go off while the heater is on (the heater trips).
    assert RULES.refusal("fan", False, {**ALL_OFF, "fan": True, "heater": True}, {}) is None
    trips = RULES.trips({**ALL_OFF, "heater": True}, {"guard": True})
    assert [(t.relay, t.rule.id) for t in trips] == [("heater", "heater_needs_fan")]


def test_excludes_refuses_either_relay_while_the_other_is_on() -> None:
    assert RULES.refusal("pump_a", True, {**ALL_OFF, "pump_b": True}, {}) == PUMPS
    assert RULES.refusal("pump_b", True, {**ALL_OFF, "pump_a": True}, {}) == PUMPS
    assert RULES.refusal("pump_b", True, ALL_OFF, {}) is None


def test_permissive_needs_the_input_in_its_state_and_an_unreadable_input_is_not() -> None:
    assert RULES.refusal("press", True, ALL_OFF, {"guard": False}) == GUARD
    assert RULES.refusal("press", True, ALL_OFF, {"guard": None}) == GUARD
    assert RULES.refusal("press", True, ALL_OFF, {"guard": True}) is None
    trips = RULES.trips({**ALL_OFF, "press": True}, {"guard": False})
    assert [t.relay for t in trips] == ["press"]


def test_a_trip_takes_down_what_required_the_tripped_relay() -> None:
    chain = Interlocks(
        [
            InterlockRule(id="b_needs_a", kind="requires", relay="b", other="a"),
            InterlockRule(id="c_needs_b", kind="requires", relay="c", other="b"),
        ]
    )
    done = chain.settle({"a": False, "b": True, "c": True}, {})
    assert [(t.relay, t.rule.id) for t in done] == [("b", "b_needs_a"), ("c", "c_needs_b")]


def rule(kind: str, relay: str, other: str, rid: str = "r", state: bool = True) -> InterlockRule:
    return InterlockRule.model_validate(
        {"id": rid, "kind": kind, "relay": relay, "other": other, "state": state}
    )


def test_unsound_rule_sets_are_named_each_problem() -> None:
    safe = {"a": False, "b": False, "c": False, "lamp": True}
    found = problems(
        [
            rule("requires", "a", "ghost", "r1"),
            rule("permissive", "b", "no_such_input", "r2"),
            rule("excludes", "c", "c", "r3"),
            rule("requires", "lamp", "a", "r4"),
            rule("requires", "a", "b", "r4"),
        ],
        safe,
        ["door"],
    )
    assert found == [
        "interlocks rule 'r1': other: unknown relay 'ghost'",
        "interlocks rule 'r2': other: unknown digital input 'no_such_input'",
        "interlocks rule 'r3': a relay cannot excludes itself ('c')",
        "interlocks rule 'r4': relay 'lamp' has safe_state on, but the rule constrains it "
        "being on, so its safe state (where a trip drives it) could break the rule",
        "interlocks rule 'r4': duplicate rule id",
    ]
    cycle = problems([rule("requires", "a", "b", "x"), rule("requires", "b", "a", "y")], safe, [])
    assert cycle == ["interlocks: requires rules form a cycle: a -> b -> a"]
    never = problems(
        [
            rule("requires", "a", "b", "a_needs_b"),
            rule("excludes", "a", "b", "not_both"),
            rule("permissive", "c", "door", "open", state=True),
            rule("permissive", "c", "door", "shut", state=False),
        ],
        safe,
        ["door"],
    )
    assert never == [
        "interlocks: relay 'a' can never be switched on: rule not_both excludes b, which "
        "it needs on",
        "interlocks: relay 'c' can never be switched on: rules open and shut need input "
        "door both True and False",
    ]


def test_the_gateway_config_reports_rule_problems_with_every_other_problem(
    tmp_path: Path,
) -> None:
    data = board(
        tmp_path,
        interlocks=[
            {"id": "light_needs_ghost", "kind": "requires", "relay": "light", "other": "ghost"},
            {"id": "bad", "kind": "sometimes", "relay": "light", "other": "motor"},
        ],
    )
    data["relays"] = [*data["relays"], {"id": "motor", "name": "Again", "pin": 99}]
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    text = "\n".join(caught.value.problems)
    assert "interlocks rule 'light_needs_ghost': other: unknown relay 'ghost'" in text
    assert "interlocks[1].kind" in text  # the malformed rule, named by pydantic
    assert "relays[4].pin" in text  # and the unrelated problem, in the same report
    assert "duplicate relay id 'motor'" in text


# --------------------------------------------------------------------------- the property

RELAYS = ["r0", "r1", "r2", "r3", "r4"]
INPUTS = ["i0", "i1"]

rules_strategy = st.lists(
    st.one_of(
        st.builds(
            lambda k, a, b: (k, a, b, True),
            st.sampled_from(["requires", "excludes"]),
            st.sampled_from(RELAYS),
            st.sampled_from(RELAYS),
        ),
        st.builds(
            lambda a, i, s: ("permissive", a, i, s),
            st.sampled_from(RELAYS),
            st.sampled_from(INPUTS),
            st.booleans(),
        ),
    ),
    max_size=6,
)
# What arrives: a command (relay, on) or an input moving (input, value).
events = st.lists(
    st.one_of(
        st.tuples(st.just("command"), st.sampled_from(RELAYS), st.booleans()),
        st.tuples(st.just("input"), st.sampled_from(INPUTS), st.one_of(st.booleans(), st.none())),
    ),
    max_size=40,
)


@settings(max_examples=400, deadline=None)
@given(raw_rules=rules_strategy, sequence=events)
def test_no_reachable_pin_state_ever_breaks_a_rule(
    raw_rules: list[tuple[str, str, str, bool]],
    sequence: list[tuple[str, str, bool | None]],
) -> None:
    """The gateway's loop, pure: a command is refused or applied (the relays it takes down
    trip first), an input moves and the trips follow; after each step every rule holds."""
    rules = [
        rule(kind, relay, other, f"rule{i}", state)
        for i, (kind, relay, other, state) in enumerate(raw_rules)
    ]
    if problems(rules, dict.fromkeys(RELAYS, False), INPUTS):
        return  # refused at start-up: such a gateway never runs
    interlocks = Interlocks(rules)
    relays = dict.fromkeys(RELAYS, False)  # every relay at its safe state (off) at boot
    inputs: dict[str, bool | None] = dict.fromkeys(INPUTS, None)
    for kind, name, value in sequence:
        if kind == "command":
            assert value is not None
            if interlocks.refusal(name, value, relays, inputs) is None:
                for trip in interlocks.settle({**relays, name: value}, inputs):
                    relays[trip.relay] = False
                relays[name] = value
        else:
            inputs[name] = value
            for trip in interlocks.settle(relays, inputs):
                relays[trip.relay] = False
        broken = [r.id for r in rules if not holds(r, relays, inputs)]
        assert broken == [], f"after {kind} {name}={value}: {relays} {inputs}"
