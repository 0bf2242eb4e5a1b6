"""The live event log's pure part: which pushed entries each subscribed client gets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bridge.contract import EventLogEntry
from bridge.push.event_log_stream import MAX_PUSHED, passes, updates
from bridge.state.event_log import EventQuery

KINDS = ("alarm", "command", "gateway", "bridge")

entries = st.lists(
    st.builds(
        lambda ts, kind, gateway: (ts, kind, gateway),
        st.floats(0, 100, allow_nan=False),
        st.sampled_from(KINDS),
        st.sampled_from(["line1", "line2", None]),
    ),
    max_size=2 * MAX_PUSHED + 10,
)
queries = st.builds(
    EventQuery,
    gateway=st.sampled_from(["line1", "line2", None]),
    kind=st.sampled_from([*KINDS, None]),
    since=st.sampled_from([None, 25.0]),
    until=st.sampled_from([None, 75.0]),
)


def entry(i: int, ts: float, kind: str, gateway: str | None) -> EventLogEntry:
    return {
        "id": i, "time": "", "ts": ts, "kind": kind, "gateway": gateway,  # type: ignore[typeddict-item]
        "subject": None, "action": "x", "user": None, "text": "",
    }  # fmt: skip


@given(entries, st.dictionaries(st.sampled_from("abcdef"), queries, max_size=6))
def test_each_client_gets_once_what_its_filters_pass_newest_first_and_bounded(
    raw: list[tuple[float, str, str | None]], subscribers: dict[str, EventQuery]
) -> None:
    written = [entry(i, *r) for i, r in enumerate(raw)]
    sent = updates(written, subscribers)
    for sid, query in subscribers.items():
        mine = [u for u, sids in sent if sid in sids]
        expected = [e["id"] for e in written if passes(query, e)]
        if not expected:
            assert mine == []
            continue
        assert len(mine) == 1  # one push per flush, however many entries
        (update,) = mine
        ids = [e["id"] for e in update["entries"]]
        assert ids == sorted(expected, reverse=True)[:MAX_PUSHED]
        assert update["skipped"] == len(expected) - len(ids)
    # Clients with the same filters share one packet.
    assert len(sent) == len(
        {(q.gateway, q.kind, q.since, q.until) for q in subscribers.values()}
    ) - sum(
        1
        for q in {(q.gateway, q.kind, q.since, q.until): q for q in subscribers.values()}.values()
        if not any(passes(q, e) for e in written)
    )
