"""Alarms in a real Chromium: the banner on every screen, the device marked, the list, and an
operator acknowledging and shelving. The gateway is a real process whose oven sensor reads a
file (the hardware edge)."""

from __future__ import annotations

import os
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from devtools.local_broker import LocalBroker
from devtools.stack import Stack

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
WEB_DIST = REPO / "web" / "dist"
ARTIFACTS = REPO / "test-artifacts" / "browser"
GW = "line1"
KEY = f"{GW}/oven/hi"
UTC = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")

CONFIG = """
gateway_id = "line1"
name = "Line 1"
system_interval_s = 1.0

[hardware]
backend = "simulated"

[[sensors]]
type = "cpu_temp"
id = "oven"
name = "Oven"
interval_s = 0.2
thermal_zone = "{zone}"

[sensors.alarms]
hi = 25.0
hihi = 40.0
deadband = 1.0
"""


def set_oven(zone: Path, celsius: float) -> None:
    tmp = zone.with_suffix(".tmp")
    tmp.write_text(f"{int(celsius * 1000)}\n")
    os.replace(tmp, zone)


def _health_ok(base_url: str) -> bool:
    with urllib.request.urlopen(base_url + "/api/health", timeout=2) as answer:
        return bool(answer.status == 200)


@pytest.fixture
def oven_stack(broker: LocalBroker, tmp_path: Path) -> Iterator[tuple[Stack, Path]]:
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(f"{WEB_DIST} is not built: run `make setup` or `cd web && npm run build`")
    zone = tmp_path / "zone_temp"
    set_oven(zone, 20.0)
    config = tmp_path / "line1.toml"
    config.write_text(CONFIG.format(zone=zone))
    s = Stack(
        tmp_path,
        broker=broker,
        gateway_args=("--config", str(config)),
        bridge_env={"FACTORY_WEB_DIST": str(WEB_DIST)},
    )
    try:
        s.start()
        s.bridge.wait_until(lambda: _health_ok(s.base_url), what="/api/health answers 200")
        yield s, zone
    finally:
        s.stop()


def log_in(page: Page, stack: Stack) -> None:
    page.goto(f"{stack.base_url}/")
    form = page.get_by_role("form", name="Log in")
    user, password = stack.operator_credentials
    form.get_by_label("User name").fill(user)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("connection-status")).to_contain_text("Real-time Connected")


def test_an_alarm_is_announced_marked_listed_acknowledged_and_shelved(
    oven_stack: tuple[Stack, Path], page: Page
) -> None:
    stack, zone = oven_stack
    log_in(page, stack)
    banner = page.get_by_test_id("alarm-banner")
    expect(banner.get_by_test_id("alarm-none")).to_be_visible()
    card = page.get_by_test_id(f"device-{GW}-oven")
    expect(card.get_by_test_id("value")).to_have_attribute("title", re.compile(r"read at .*UTC"))
    expect(banner.get_by_test_id("alarm-sound")).to_have_text("Sound off")  # off by default

    set_oven(zone, 30.0)
    high = banner.get_by_test_id("alarm-count-high")
    expect(high).to_have_attribute("data-count", "1")
    expect(high).to_contain_text("▲ High: 1")  # a shape and words, not colour alone
    expect(card).to_have_attribute("data-alarm", "high")
    expect(card.get_by_test_id("alarm-mark")).to_have_text("▲ High alarm: hi")

    page.get_by_test_id("view-alarms").click()
    expect(banner).to_be_visible()  # on every screen
    row = page.get_by_test_id(f"alarm-{KEY}")
    expect(row).to_have_attribute("data-state", "unacked")
    expect(row.get_by_test_id("alarm-state")).to_have_text("Active, unacknowledged")
    expect(row.get_by_test_id("alarm-time")).to_have_text(UTC)
    expect(row.get_by_test_id("alarm-message")).to_have_text("Oven: hi (above 25)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "09-alarm-list.png"), full_page=True)

    row.get_by_test_id("alarm-ack").click()
    expect(row).to_have_attribute("data-state", "acked")
    expect(row.get_by_test_id("alarm-acked")).to_contain_text(
        f"acknowledged by {stack.operator_credentials[0]} at"
    )
    expect(banner.get_by_test_id("alarm-none")).to_be_visible()

    row.get_by_test_id("alarm-shelve").click()
    row.get_by_test_id("alarm-shelf-confirm").click()
    expect(page.get_by_test_id("alarm-error")).to_have_text("Give a reason for shelving")
    row.get_by_test_id("alarm-shelf-reason").fill("sensor being replaced")
    row.get_by_test_id("alarm-shelf-confirm").click()
    expect(row.get_by_test_id("alarm-shelved")).to_contain_text("sensor being replaced")
    expect(row.get_by_test_id("alarm-shelved")).to_contain_text(UTC)
    # Shelved: no longer marked on its card.
    page.get_by_test_id("view-plant").click()
    expect(card).not_to_have_attribute("data-alarm", "high")

    set_oven(zone, 20.0)
    page.get_by_test_id("view-alarms").click()
    expect(row.get_by_test_id("alarm-state")).to_have_text("Normal")

    # The event log: live, filterable, exportable; it tells who did what.
    page.get_by_test_id("view-events").click()
    log = page.get_by_test_id("event-log")
    expect(banner).to_be_visible()
    page.get_by_test_id("event-kind").select_option("alarm")
    rows = log.get_by_test_id("event-row")
    expect(rows.first).to_have_attribute("data-action", "normal")
    texts = log.get_by_test_id("event-text")
    user = stack.operator_credentials[0]
    expect(texts).to_contain_text(
        [
            "high alarm normal: Oven: hi (above 25)",
            "alarm shelved until",
            f"high alarm acknowledged by {user}: Oven: hi (above 25)",
            "high alarm raised: Oven: hi (above 25)",
        ]
    )
    expect(log.locator("tr[data-kind=command]")).to_have_count(0)  # filtered by kind
    page.get_by_test_id("event-kind").select_option("command")
    expect(texts.first).to_contain_text(f"{user}: shelve alarm oven/hi of line1: done")
    with page.expect_download() as download:
        page.get_by_test_id("event-csv").click()
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("time,ts,kind,gateway,subject,action,user,text")
    assert f"{user}: acknowledge alarm oven/hi of line1: done" in csv_text
    page.screenshot(path=str(ARTIFACTS / "10-event-log.png"), full_page=True)


def test_the_open_event_log_shows_a_new_entry_pushed_without_reload_or_polling(
    oven_stack: tuple[Stack, Path], page: Page
) -> None:
    stack, zone = oven_stack
    log_in(page, stack)
    page.get_by_test_id("view-events").click()
    log = page.get_by_test_id("event-log")
    page.get_by_test_id("event-kind").select_option("alarm")
    expect(log).to_contain_text("Nothing logged for these filters.")  # subscribed: first page
    reads: list[str] = []
    page.on("request", lambda r: reads.append(r.url) if "/api/event-log" in r.url else None)
    page.on("framenavigated", lambda frame: reads.append(f"navigated to {frame.url}"))

    set_oven(zone, 30.0)
    raised = log.locator("tr[data-kind=alarm][data-action=raised]")
    expect(raised).to_have_count(1)
    expect(raised.get_by_test_id("event-text")).to_have_text(
        "high alarm raised: Oven: hi (above 25)"
    )
    expect(log.get_by_test_id("event-count")).to_have_text("1 of 1")
    assert reads == []  # pushed over the socket: no reload, no HTTP read of the log
