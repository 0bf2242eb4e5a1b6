"""The live event log: new entries pushed to the clients that have the event log open.

A client subscribes with its filters (``subscribe_event_log``) and is answered with the
first page; from then on every batch the event log writes (one per flush, 1 s by default)
becomes at most one ``event_log_update`` per client, holding only the entries that pass its
filters, the newest ``MAX_PUSHED`` of them. So an alarm flood costs a client one message a
second, not one per alarm. Clients with the same filters share one encoded packet.

``updates`` is the pure part; ``EventLogStream`` keeps the subscriptions and emits on the
gevent loop (it is called from the greenlet that flushed the log, never from the disk
thread).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from bridge.contract import EVENT_LOG_EVENT, EventLogEntry, EventLogUpdate
from bridge.state.event_log import EventQuery

MAX_PUSHED: Final = 200

Emit = Callable[[str, dict[str, Any], list[str]], None]


def passes(query: EventQuery, entry: EventLogEntry) -> bool:
    """Whether an entry belongs on a page with these filters (as ``/api/event-log`` says)."""
    return (
        (query.gateway is None or entry["gateway"] == query.gateway)
        and (query.kind is None or entry["kind"] == query.kind)
        and (query.since is None or entry["ts"] >= query.since)
        and (query.until is None or entry["ts"] < query.until)
    )


def _filters(query: EventQuery) -> tuple[object, ...]:
    return (query.gateway, query.kind, query.since, query.until)


def updates(
    written: list[EventLogEntry], subscribers: Mapping[str, EventQuery]
) -> list[tuple[EventLogUpdate, list[str]]]:
    """One update per set of filters that any entry passes, with the clients it goes to.

    ``written`` is in the order written (oldest first); an update lists newest first, like
    a page.
    """
    groups: dict[tuple[object, ...], tuple[EventQuery, list[str]]] = {}
    for sid, query in subscribers.items():
        groups.setdefault(_filters(query), (query, []))[1].append(sid)
    out: list[tuple[EventLogUpdate, list[str]]] = []
    for query, sids in groups.values():
        matching = [e for e in reversed(written) if passes(query, e)]
        if matching:
            shown = matching[:MAX_PUSHED]
            out.append(({"entries": shown, "skipped": len(matching) - len(shown)}, sids))
    return out


class EventLogStream:
    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._subscribers: dict[str, EventQuery] = {}

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self, sid: str, query: EventQuery) -> None:
        """From now on (replacing earlier filters of this client)."""
        self._subscribers[sid] = query

    def unsubscribe(self, sid: str) -> None:
        self._subscribers.pop(sid, None)

    def publish(self, written: list[EventLogEntry]) -> None:
        """The entries the log has just written."""
        if not self._subscribers:
            return
        for update, sids in updates(written, self._subscribers):
            self._emit(EVENT_LOG_EVENT, dict(update), sids)
