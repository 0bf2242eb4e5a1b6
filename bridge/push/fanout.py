"""Who gets which push (pure: no sockets, no clock; the caller passes the time in).

The engine takes the store's changes (``publish``), learns of clients coming and going, and on
``flush`` — given each client's transport backlog — returns a ``Plan``: who gets the full
state, which chain of deltas goes to which clients, whom to cut, whose transport to watch and
when to flush again. A transport is reached only through ``Port``; ``bridge.push.engineio_port``
is the one for python-engineio.

Rules (docs/api.md):

* A client gets its full state first (at the version of the flush), deltas after.
* Each client's messages form its own chain: every ``prev`` is the ``version`` of the
  previous message (or of the state) that client got. Clients share a message only when
  their whole chains for that flush are identical: then it is encoded once for all of them
  (docs/benchmarks.md, findings 2 and 7).
* Coalescing is driven by each client's transport, not by a clock: a client whose transport
  queue is empty is sent what is new at once; while a packet is still queued for it, what
  arrives is merged by its Coalescer (newest value per key, memory bounded by the keys) and
  the port watches its transport; the moment the queue drains (``drained``) the merged
  values go out. One whose queue stays non-empty for ``stuck_after`` seconds is cut. An
  ``interval`` also bounds how often a busy event is written to one client; a ``Pacing``
  moves it with the rate of changes (2 ms at ordinary load, up to 50 ms under a flood:
  ``FACTORY_COALESCE_MS``, ``_MAX_MS``, ``_KNEE_RATE``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from bridge.push.coalesce import Coalescer, Outgoing, Pacing, RateMeter, merge
from bridge.state.store import Delta

# A client is written to only when its queue is empty: everything that arrives meanwhile is
# merged, so a push never waits behind older pushes in the client's own queue. The drained
# signal flushes it at once, so an acknowledgement still queued holds the push that confirms
# the command back only until the writer has taken it (with a 50 ms recheck instead of that
# signal this had to be 4: bench, finding 3).
MAX_QUEUED: Final = 1
# With a coalescing interval (FACTORY_COALESCE_MS > 0, as shipped) a client is sent more
# while fewer than 4 packets wait: an acknowledgement still queued for the sender must not
# hold back the push that confirms its command (bench, finding 3).
MAX_QUEUED_WITH_CLOCK: Final = 4


def max_queued_for(interval: float) -> int:
    """How many packets may wait in a client's queue before it is sent no more."""
    return MAX_QUEUED if interval == 0 else MAX_QUEUED_WITH_CLOCK


class Port(Protocol):
    """What the engine needs from a transport; every method takes the client's id."""

    def backlog(self, client: str) -> int | None:
        """Packets queued for the client and not yet taken by its transport; None if gone."""

    def watch(self, client: str) -> None:
        """Call the drained callback once the client's queue is empty (once per watch)."""

    def emit(self, event: str, payload: dict[str, Any], to: list[str]) -> int:
        """Send one message to these clients (encoded once for all of them); returns how many
        of them it was written to at once, past their transport queue."""

    def cut(self, client: str) -> None:
        """Disconnect the client at once, without waiting on its queue."""

    def forget(self, client: str) -> None:
        """The client is gone: drop whatever the port keeps for it."""


@dataclass(frozen=True, slots=True)
class Group:
    """One chain of messages, in order, for clients whose chains are all this one."""

    messages: list[Outgoing]
    clients: list[str]


@dataclass(frozen=True, slots=True)
class Plan:
    """What one flush sends: the full state first, then each group's chain."""

    state_to: list[str] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    cut: list[str] = field(default_factory=list)
    watch: list[str] = field(default_factory=list)
    next_due: float | None = None


@dataclass(slots=True)
class _Client:
    coalescer: Coalescer
    needs_state: bool = True
    stuck_since: float | None = None


class Fanout:
    def __init__(
        self,
        interval: float,
        stuck_after: float,
        burst: int = 10,
        max_queued: int = MAX_QUEUED,
        pacing: Pacing | None = None,
    ) -> None:
        if interval < 0:
            raise ValueError(f"coalescing interval must be >= 0, got {interval}")
        if pacing is not None and pacing.least != interval:
            raise ValueError(f"pacing starts at {pacing.least} s, the interval is {interval} s")
        if stuck_after <= 0:
            raise ValueError(f"stuck_after must be > 0 seconds, got {stuck_after}")
        if max_queued < 1:
            raise ValueError(f"max_queued must be >= 1, got {max_queued}")
        self.interval = interval
        self.stuck_after = stuck_after
        self.max_queued = max_queued
        self._rate = RateMeter(interval, burst)
        # Without a pacing, the interval stays what it was given.
        self._pacing = pacing or Pacing(interval, interval, knee=1.0)
        self._clients: dict[str, _Client] = {}
        self._incoming: list[Delta] = []

    # Inputs ----------------------------------------------------------------

    def connect(self, client: str) -> None:
        """A new client: it gets the full state at the next flush it can take."""
        self._clients[client] = _Client(Coalescer(self.interval, -1))

    def disconnect(self, client: str) -> None:
        self._clients.pop(client, None)

    def resynced(self, client: str, version: int) -> None:
        """The client got the full state at ``version`` some other way (``request_state``)."""
        known = self._clients.get(client)
        if known is not None:
            known.coalescer.reset(version)
            known.needs_state = False

    def publish(self, deltas: list[Delta], now: float) -> None:
        """New changes for every client; merged once per flush, not once per client."""
        for delta in deltas:
            self._rate.record(delta.event, now)
        self._pacing.record(now, len(deltas))
        self._incoming.extend(deltas)

    def drained(self, client: str) -> bool:
        """The client's transport queue is empty: whether a flush now has anything for it."""
        known = self._clients.get(client)
        return known is not None and (known.needs_state or known.coalescer.pending > 0)

    # Queries ---------------------------------------------------------------

    @property
    def clients(self) -> int:
        return len(self._clients)

    def held(self, client: str) -> int | None:
        """The version the client holds after everything planned so far (None if unknown)."""
        known = self._clients.get(client)
        return None if known is None or known.needs_state else known.coalescer.sent_version

    def pending(self, client: str) -> int:
        """Keys waiting for the client: the memory it costs beyond its transport's queue."""
        known = self._clients.get(client)
        return 0 if known is None else known.coalescer.pending

    # Flush -----------------------------------------------------------------

    def flush(self, now: float, backlog: Callable[[str], int | None], version: int) -> Plan:
        """What to send now; ``version`` is the store's, the version of a full state now."""
        batch, self._incoming = merge(self._incoming), []
        interval = self.interval = self._rate.interval = self._pacing.interval(now)
        busy = self._rate.busy(now)
        state_to: list[str] = []
        cut: list[str] = []
        watch: list[str] = []
        next_due: float | None = None
        # Clients with the same chain share it: keyed by its (event, prev, version) steps,
        # with the payloads compared on a match (two clients can differ in what a step holds).
        chains: dict[tuple[tuple[str, int, int], ...], list[Group]] = {}
        # Most clients hold exactly the version before this batch, nothing held back: their
        # chain is worked out once, here, and each of them only joins its group.
        events = [delta.event for delta in batch]
        base = min((delta.prev for delta in batch), default=-1)
        in_step = Group(self._reference(batch, base, now), [])
        if in_step.messages:
            chains[_steps(in_step.messages)] = [in_step]
        for client_id, client in list(self._clients.items()):
            queued = backlog(client_id)
            if queued is None:
                continue  # closing: its disconnect follows
            coalescer = client.coalescer
            coalescer.interval = interval
            if (
                in_step.messages
                and queued < self.max_queued
                and not client.needs_state
                and coalescer.in_step(base, events, now, busy)
            ):
                client.stuck_since = None
                coalescer.sent(in_step.messages[-1].payload["version"], events, now)
                in_step.clients.append(client_id)
                continue
            for delta in batch:
                coalescer.offer(delta)
            if queued >= self.max_queued:
                if client.stuck_since is None:
                    client.stuck_since = now
                elif now - client.stuck_since >= self.stuck_after:
                    del self._clients[client_id]
                    cut.append(client_id)
                    continue
                watch.append(client_id)  # it is flushed again when its queue drains
                continue
            client.stuck_since = None
            if client.needs_state:
                client.needs_state = False
                coalescer.reset(version)
                state_to.append(client_id)
            messages = coalescer.take(now, busy)
            if messages:
                _join(chains, messages, client_id)
            due = coalescer.due_at(busy)
            if due is not None:
                next_due = due if next_due is None else min(next_due, due)
        groups = [g for same_steps in chains.values() for g in same_steps if g.clients]
        return Plan(state_to, groups, cut, watch, next_due)

    def _reference(self, batch: list[Delta], base: int, now: float) -> list[Outgoing]:
        """The chain of a client that holds ``base`` with nothing held back and nothing busy."""
        reference = Coalescer(self.interval, base)
        for delta in batch:
            reference.offer(delta)
        return reference.take(now, ())


def _steps(messages: list[Outgoing]) -> tuple[tuple[str, int, int], ...]:
    return tuple((m.event, m.payload["prev"], m.payload["version"]) for m in messages)


def _join(
    chains: dict[tuple[tuple[str, int, int], ...], list[Group]],
    messages: list[Outgoing],
    client: str,
) -> None:
    same_steps = chains.setdefault(_steps(messages), [])
    for group in same_steps:
        if group.messages == messages:
            group.clients.append(client)
            return
    same_steps.append(Group(messages, [client]))
