"""The history's SQLite edge on a real file, its writes on a real disk thread."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from gevent.threadpool import ThreadPool

from bridge.security.private_files import StateFileError
from bridge.settings import SettingsError, parse_settings
from bridge.state.history_store import DB_NAME, HistoryStore, SeriesKey, default_tiers

T0 = 1_800_000_000.0  # a minute boundary
TEMP: SeriesKey = ("device", "line1", "temperature")
DOOR: SeriesKey = ("device", "line1", "door")
PUMP: SeriesKey = ("relay", "line1", "pump")


class Clock:
    """The bridge's clock, set by the test: a few minutes after the readings by default."""

    def __init__(self) -> None:
        self.now = T0 + 1200

    def __call__(self) -> float:
        return self.now


def open_store(
    state: Path,
    keep: tuple[float, float, float] = (3600, 7 * 86400, 365 * 86400),
    clock: Clock | None = None,
) -> HistoryStore:
    store = HistoryStore(state / DB_NAME, default_tiers(*keep), ThreadPool(1), clock or Clock())
    store.open()
    return store


def settle(store: HistoryStore) -> None:
    """Wait for the disk thread: a query runs after everything queued before it."""
    store.query(TEMP, T0, T0 + 1, None, 1)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[HistoryStore]:
    opened = open_store(tmp_path, clock=clock)
    yield opened
    opened.close()


def test_a_range_is_served_from_the_recorded_readings(store: HistoryStore):
    for i in range(120):  # two minutes, one reading a second: 0, 1, ... 119
        store.record((TEMP, T0 + i, float(i), False))
    store.flush()
    whole = store.query(TEMP, T0, T0 + 120, None, 1000)
    assert whole.tier == "second"
    assert [p[0] for p in whole.points] == [T0 + i for i in range(120)]
    per_minute = store.query(TEMP, T0, T0 + 120, 60, 1000)
    assert per_minute.points == [[T0, 0.0, 29.5, 59.0, 59.0], [T0 + 60, 60.0, 89.5, 119.0, 119.0]]
    capped = store.query(TEMP, T0, T0 + 120, None, 4)
    assert (capped.step, len(capped.points)) == (30, 4)
    assert capped.points[0] == [T0, 0.0, 14.5, 29.0, 29.0]


def test_older_ranges_come_from_the_coarser_tiers(store: HistoryStore, clock: Clock):
    for i in range(0, 1200, 10):
        store.record((TEMP, T0 + i, 1.0 if i < 600 else 3.0, False))
    store.flush()
    clock.now = T0 + 86400  # a day later: the per-second tier no longer holds T0
    series = store.query(TEMP, T0, T0 + 1200, 600, 1000)
    assert series.tier == "ten_minutes"
    assert series.points == [[T0, 1.0, 1.0, 1.0, 1.0], [T0 + 600, 3.0, 3.0, 3.0, 3.0]]
    minutes = store.query(TEMP, T0, T0 + 1200, 60, 1000)
    assert minutes.tier == "minute"
    assert len(minutes.points) == 20


def test_relays_and_digital_inputs_are_step_series_holding_their_level(store: HistoryStore):
    store.record((PUMP, T0, 1.0, True))
    store.record((PUMP, T0 + 30, 0.0, True))
    store.record((DOOR, T0 + 5, 1.0, True))
    store.flush()
    later = store.query(PUMP, T0 + 600, T0 + 1200, None, 100)
    # Nothing changed in the range: the level held since T0 + 30 is its one point.
    assert later.step_series
    assert later.points == [[T0 + 600, 0.0, 0.0, 0.0, 0.0]]
    across = store.query(PUMP, T0, T0 + 60, 60, 100)
    assert across.points == [[T0, 0.0, 0.5, 1.0, 0.0]]  # it was on, then off: min 0, max 1
    assert store.query(DOOR, T0 + 10, T0 + 20, None, 10).points[0][4] == 1.0


def test_history_survives_closing_and_repeats_of_a_retained_state_count_once(tmp_path: Path):
    first = open_store(tmp_path)
    first.record((TEMP, T0, 20.0, False))
    first.record((TEMP, T0 + 1, 21.0, False))
    first.close()  # writes what was still waiting
    again = open_store(tmp_path)
    again.record((TEMP, T0 + 1, 21.0, False))  # the broker's retained copy, on reconnect
    again.record((TEMP, T0 + 2, 22.0, False))
    again.flush()
    series = again.query(TEMP, T0, T0 + 60, 60, 10)
    again.close()
    assert series.points == [[T0, 20.0, 21.0, 22.0, 22.0]]
    assert (again.written, again.skipped) == (1, 1)


def test_retention_deletes_each_tier_by_age_and_bounds_the_file(tmp_path: Path, clock: Clock):
    store = open_store(tmp_path, keep=(60, 1200, 3600), clock=clock)
    for i in range(600):
        store.record((TEMP, T0 + i, float(i), False))
    clock.now = T0 + 600
    store.flush()
    settle(store)
    assert store.size_bytes > 0
    db = sqlite3.connect(tmp_path / DB_NAME)
    count = "SELECT count(*) FROM tier_{}"
    assert db.execute(count.format("second")).fetchone()[0] == 60  # the last minute
    clock.now = T0 + 2000  # per-second (60 s) and per-minute (1200 s) are past
    store.flush()
    settle(store)
    assert [db.execute(count.format(t)).fetchone()[0] for t in ("second", "minute")] == [0, 0]
    assert db.execute(count.format("ten_minutes")).fetchone()[0] == 1
    clock.now = T0 + 5000
    store.flush()
    store.close()
    assert db.execute(count.format("ten_minutes")).fetchone()[0] == 0
    db.close()


def test_a_reading_from_a_clock_far_ahead_is_not_stored_and_holds_nothing_back(
    store: HistoryStore, clock: Clock
):
    clock.now = T0
    store.record((TEMP, T0 + 3600, 99.0, False))  # the gateway's clock is an hour ahead
    store.record((TEMP, T0 + 1, 20.0, False))  # ... and then set right
    store.flush()
    series = store.query(TEMP, T0, T0 + 7200, 7200, 10)
    assert series.points == [[T0, 20.0, 20.0, 20.0, 20.0]]
    assert store.skipped == 1


def test_the_sparklines_are_refilled_with_the_last_reading_per_bucket(store: HistoryStore):
    for i in range(30):
        store.record((TEMP, T0 + i, float(i), False))
    store.record((DOOR, T0 + 3, 1.0, True))
    store.record((PUMP, T0 + 3, 1.0, True))  # relays have no sparkline
    store.flush()
    recent = store.recent_readings(since=T0 + 5, width=12)
    assert [(r.device, r.ts, r.value) for r in recent if r.device == "temperature"] == [
        ("temperature", T0 + 11, 11.0),
        ("temperature", T0 + 23, 23.0),
        ("temperature", T0 + 29, 29.0),
    ]
    door = [r for r in store.recent_readings(since=T0, width=12) if r.device != "temperature"]
    assert door == [("line1", "door", T0 + 3, True)]


def test_an_unknown_series_answers_no_points_and_says_so(store: HistoryStore):
    series = store.query(PUMP, T0, T0 + 60, None, 10)
    assert (series.recorded, series.points, series.step_series) == (False, [], True)


def test_a_file_that_is_not_a_database_is_named_at_start(tmp_path: Path):
    (tmp_path / DB_NAME).write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StateFileError, match=DB_NAME):
        open_store(tmp_path)


def test_bad_history_settings_are_all_named_at_once():
    with pytest.raises(SettingsError) as caught:
        parse_settings(
            {
                "FACTORY_HISTORY_FLUSH_S": "0",
                "FACTORY_HISTORY_SECOND_KEEP_H": "soon",
                "FACTORY_HISTORY_MINUTE_KEEP_D": "-7",
                "FACTORY_HISTORY_TEN_MINUTE_KEEP_D": "100000",
            }
        )
    named = [problem.split("=")[0] for problem in caught.value.problems]
    assert named == [
        "FACTORY_HISTORY_FLUSH_S",
        "FACTORY_HISTORY_SECOND_KEEP_H",
        "FACTORY_HISTORY_MINUTE_KEEP_D",
        "FACTORY_HISTORY_TEN_MINUTE_KEEP_D",
    ]
