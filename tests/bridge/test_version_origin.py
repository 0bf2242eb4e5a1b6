"""Versions are per bridge process (docs/api.md, "Versions"): a store answers as a
continuation only a version it issued itself, and a restarted bridge issues none of its
predecessor's. Pure: stores fed contract messages, no sockets, no clock."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.state.store import MAX_VERSION, Store, first_version_for
from factory_core.contract import Topics, decode

T = Topics()
# A process's start, in ns: anywhere from 1970 to the 2250s (its versions stay below 2**53).
STARTS_NS = st.integers(0, (MAX_VERSION - 10**13) * 1_000)


def reading(value: int) -> Any:
    payload = f'{{"value": {value}, "ts": {value}, "seq": {value}}}'.encode()
    return decode(T, T.device_state("line1", "temperature"), payload)


def fed(store: Store, changes: int, offset: int = 0) -> Store:
    """Apply ``changes`` readings, each a change: one new version each."""
    for i in range(changes):
        store.apply(reading(offset + i + 1), now=float(i))
    return store


@settings(max_examples=300, deadline=None)
@given(
    started_ns=STARTS_NS,
    changes=st.integers(0, 40),
    buffer=st.integers(1, 10),
    data=st.data(),
)
def test_a_version_this_store_never_issued_is_never_answered_as_a_continuation(
    started_ns: int, changes: int, buffer: int, data: st.DataObject
) -> None:
    first = first_version_for(started_ns)
    store = fed(Store(event_buffer=buffer, first_version=first), changes)
    assert store.version == first + changes  # issued: first (the empty state) to version
    outside = st.one_of(
        st.integers(max(0, first - 2 * buffer), first - 1) if first > 0 else st.nothing(),
        st.integers(store.version + 1, store.version + 2 * buffer),
        st.integers(0, MAX_VERSION).filter(lambda v: not first <= v <= store.version),
    )
    since = data.draw(outside, label="since")
    assert store.events_since(since) is None, f"{since} answered as a continuation"

    # A version it did issue, and still remembers, continues exactly from there.
    issued = data.draw(st.integers(max(first, store.version - buffer), store.version))
    deltas = store.events_since(issued)
    assert deltas is not None
    chain = [issued] + [d.version for d in deltas]
    assert chain == list(range(issued, store.version + 1))
    assert [d.prev for d in deltas] == chain[:-1]


@settings(max_examples=300, deadline=None)
@given(
    started_ns=STARTS_NS,
    ran_us=st.integers(1, 10**12),
    rate=st.floats(0.0, 0.99),
    after=st.integers(0, 30),
    data=st.data(),
)
def test_a_restarted_bridge_answers_every_version_of_its_predecessor_with_a_resync(
    started_ns: int, ran_us: int, rate: float, after: int, data: st.DataObject
) -> None:
    """The predecessor ran ``ran_us`` microseconds and made fewer changes than that (any
    realistic rate is far below one per microsecond); modelled by its first and last
    versions, without applying millions of messages."""
    made = int(ran_us * rate)
    old_first = first_version_for(started_ns)
    held = data.draw(st.integers(old_first, old_first + made), label="version the client held")
    restarted = first_version_for(started_ns + ran_us * 1_000)
    store = fed(Store(first_version=restarted), after)
    assert store.events_since(held) is None
