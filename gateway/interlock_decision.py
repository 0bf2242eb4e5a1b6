"""Interlocks, pure: which command would break a rule, which relays must trip, which rule sets
are unsound. The gateway applies it (:mod:`gateway.actuation`); nothing here touches a pin.

Every rule constrains one relay being *on* (``factory_core.contract.InterlockRule``), so off
is always allowed and always safe: a relay with rules has safe state off (checked at
start-up), and a trip drives it there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from factory_core.contract import InterlockRule

# What the evaluator is told of the plant: each relay's read-back state and each input's
# value; None when the input cannot be read (no permissive holds on an unknown input).
RelayStates = Mapping[str, bool]
InputStates = Mapping[str, bool | None]


def holds(rule: InterlockRule, relays: RelayStates, inputs: InputStates) -> bool:
    """Whether the plant state satisfies one rule."""
    if not relays.get(rule.relay, False):
        return True
    match rule.kind:
        case "requires":
            return relays.get(rule.other, False)
        case "excludes":
            return not relays.get(rule.other, True)  # an unreadable relay may be on
        case "permissive":
            return inputs.get(rule.other) is rule.state
    raise AssertionError(rule.kind)  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Trip:
    relay: str
    rule: InterlockRule


class Interlocks:
    def __init__(self, rules: Iterable[InterlockRule]) -> None:
        self.rules = tuple(rules)

    def refusal(
        self, relay: str, on: bool, relays: RelayStates, inputs: InputStates
    ) -> InterlockRule | None:
        """The first rule that switching ``relay`` to ``on`` would break, or None.

        Switching off never breaks a rule: the relays that needed it trip instead (``trips``).
        """
        if not on:
            return None
        after = {**relays, relay: True}
        for rule in self.rules:
            # Only rules about this relay: the others are the trips' business.
            about = rule.relay == relay or (rule.kind == "excludes" and rule.other == relay)
            if about and not holds(rule, after, inputs):
                return rule
        return None

    def trips(self, relays: RelayStates, inputs: InputStates) -> list[Trip]:
        """The relays that are on against a rule, each with the first rule it breaks; they go
        to their safe state (off). Repeated until empty, this reaches a state where every rule
        holds, since switching relays off only ever makes rules hold."""
        found: dict[str, Trip] = {}
        for rule in self.rules:
            if rule.relay not in found and not holds(rule, relays, inputs):
                found[rule.relay] = Trip(rule.relay, rule)
        return list(found.values())

    def settle(self, relays: RelayStates, inputs: InputStates) -> list[Trip]:
        """Every trip needed to make the rules hold from ``relays``, in order: a relay that
        trips may take down others that required it."""
        state = dict(relays)
        done: list[Trip] = []
        while pending := self.trips(state, inputs):
            for trip in pending:
                state[trip.relay] = False
            done.extend(pending)
        return done

    def off_order(self, relay: str) -> int:
        """Sort key for switching several relays off at once: a relay goes after every relay
        that requires it (0: nothing requires it), so no dependent is ever left on without
        what it needs. Finite because start-up refuses cycles."""
        above = [r.relay for r in self.rules if r.kind == "requires" and r.other == relay]
        return 1 + max(map(self.off_order, above)) if above else 0


# --------------------------------------------------------------------------- validation


def problems(
    rules: list[InterlockRule],
    safe_states: Mapping[str, bool],
    inputs: Iterable[str],
    where: str = "interlocks",
) -> list[str]:
    """Every problem of a rule set, one line each: unknown relays or inputs, duplicate ids,
    a relay whose safe state breaks a rule, rules that can never let a relay on, cycles."""
    found: list[str] = []
    input_ids = set(inputs)
    seen: set[str] = set()
    for rule in rules:
        at = f"{where} rule {rule.id!r}"
        if rule.id in seen:
            found.append(f"{at}: duplicate rule id")
        seen.add(rule.id)
        if rule.relay not in safe_states:
            found.append(f"{at}: relay: unknown relay {rule.relay!r}")
        if rule.kind == "permissive":
            if rule.other not in input_ids:
                found.append(f"{at}: other: unknown digital input {rule.other!r}")
        elif rule.other not in safe_states:
            found.append(f"{at}: other: unknown relay {rule.other!r}")
        elif rule.other == rule.relay:
            found.append(f"{at}: a relay cannot {rule.kind} itself ({rule.relay!r})")
        if safe_states.get(rule.relay) is True:
            found.append(
                f"{at}: relay {rule.relay!r} has safe_state on, but the rule constrains it "
                "being on, so its safe state (where a trip drives it) could break the rule"
            )
        if rule.kind == "excludes" and safe_states.get(rule.other) is True:
            found.append(
                f"{at}: relay {rule.other!r} has safe_state on, so driving it to its safe "
                f"state could break the rule while {rule.relay!r} is on"
            )
    if found:
        return found  # the checks below assume known, distinct relays
    found += _cycles(rules, where)
    if found:
        return found
    for relay in sorted({r.relay for r in rules}):
        why = _never_on(relay, rules)
        if why is not None:
            found.append(f"{where}: relay {relay!r} can never be switched on: {why}")
    return found


def _requires_graph(rules: list[InterlockRule]) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {}
    for rule in rules:
        if rule.kind == "requires":
            graph.setdefault(rule.relay, []).append(rule.other)
    return graph


def _cycles(rules: list[InterlockRule], where: str) -> list[str]:
    """A cycle of requires rules: none of its relays can be switched on first."""
    graph = _requires_graph(rules)
    found: list[str] = []
    reported: set[frozenset[str]] = set()

    def visit(node: str, path: list[str]) -> None:
        for nxt in graph.get(node, []):
            if nxt in path:
                cycle = [*path[path.index(nxt) :], nxt]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    found.append(f"{where}: requires rules form a cycle: {' -> '.join(cycle)}")
            else:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    return found


def _never_on(relay: str, rules: list[InterlockRule]) -> str | None:
    """Why no state lets ``relay`` be on, or None. Exact for these rules: the least state with
    ``relay`` on is it and everything it requires, transitively, with every other relay off;
    if that state breaks an excludes rule or needs an input in two states, so does any."""
    graph = _requires_graph(rules)
    needed = {relay}
    todo = [relay]
    while todo:
        for nxt in graph.get(todo.pop(), []):
            if nxt not in needed:
                needed.add(nxt)
                todo.append(nxt)
    wanted: dict[str, tuple[bool, str]] = {}
    for rule in rules:
        if rule.relay not in needed:
            continue
        if rule.kind == "excludes" and rule.other in needed:
            return f"rule {rule.id} excludes {rule.other}, which it needs on"
        if rule.kind == "permissive":
            earlier = wanted.setdefault(rule.other, (rule.state, rule.id))
            if earlier[0] != rule.state:
                return (
                    f"rules {earlier[1]} and {rule.id} need input {rule.other} both "
                    f"{earlier[0]} and {rule.state}"
                )
    return None
