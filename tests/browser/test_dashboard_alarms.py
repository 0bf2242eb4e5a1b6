"""Alarms in a real Chromium: the banner on every screen, the device marked, the list, and an
operator acknowledging and shelving. The gateway is a real process whose oven sensor reads a
file (the hardware edge)."""

from __future__ import annotations

import json
import os
import re
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from bridge.security.accounts import Accounts
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


# The same line with a relay on the fake RPi.GPIO board (the hardware edge), which can be
# made to ignore writes (FAKE_GPIO_DIR's control.json: a welded relay, a dead driver).
FAKES = REPO / "tests" / "fakes"
FAN_PIN = 5
FAN_CONFIG = CONFIG.replace('backend = "simulated"', 'backend = "rpi_gpio"').replace(
    "[[sensors]]", f'[[relays]]\nid = "fan"\nname = "Fan"\npin = {FAN_PIN}\n\n[[sensors]]', 1
)
PERSIAN_DIGITS = re.compile("[\u06f0-\u06f9]{4}")  # a year in Persian digits
SOLAR_HIJRI_YEAR = re.compile("\u06f1\u06f4[\u06f0-\u06f9]{2}")  # 14xx


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


@pytest.fixture
def fan_stack(broker: LocalBroker, tmp_path: Path) -> Iterator[tuple[Stack, Path, Path]]:
    """The line with a relay; yields the stack, the oven's file and the fake board's dir."""
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(f"{WEB_DIST} is not built: run `make setup` or `cd web && npm run build`")
    zone, board = tmp_path / "zone_temp", tmp_path / "board"
    board.mkdir()
    set_oven(zone, 20.0)
    config = tmp_path / "line1.toml"
    config.write_text(FAN_CONFIG.format(zone=zone))
    s = Stack(
        tmp_path,
        broker=broker,
        gateway_args=("--config", str(config)),
        gateway_env={
            "FAKE_GPIO_DIR": str(board),
            "PYTHONPATH": os.pathsep.join([str(FAKES), str(REPO)]),
        },
        bridge_env={"FACTORY_WEB_DIST": str(WEB_DIST)},
    )
    try:
        s.start()
        s.bridge.wait_until(lambda: _health_ok(s.base_url), what="/api/health answers 200")
        yield s, zone, board
    finally:
        s.stop()


def stick(board: Path, pin: int, level: bool) -> None:
    tmp = board / "control.tmp"
    tmp.write_text(json.dumps({"stuck": {str(pin): int(level)}}))
    tmp.replace(board / "control.json")


def log_in(page: Page, stack: Stack, credentials: tuple[str, str] | None = None) -> None:
    page.goto(f"{stack.base_url}/")
    form = page.get_by_role("form", name="Log in")
    user, password = credentials or stack.operator_credentials
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
    expect(card.get_by_test_id("alarm-mark")).to_have_attribute(
        "title", re.compile(r"^Oven: hi \(above 25\) · raised at .*UTC$")
    )

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


def test_a_relay_in_alarm_is_marked_and_every_value_and_age_has_its_time_on_hover(
    fan_stack: tuple[Stack, Path, Path], page: Page
) -> None:
    stack, _zone, board = fan_stack
    log_in(page, stack)
    fan = page.get_by_test_id(f"safeguarded-{GW}-fan")
    status = fan.get_by_test_id("relay-status")
    expect(status).to_have_text("Off")
    expect(status).to_have_attribute("title", re.compile(r"^state read back at .*UTC$"))
    expect(fan).not_to_have_attribute("data-alarm", re.compile("."))
    for panel in ("stats-line1", "stats-bridge"):
        cpu = page.get_by_test_id(panel).get_by_test_id("stat-cpu")
        expect(cpu).to_have_attribute("title", re.compile(r"^measured at .*UTC$"))
    # Hovering shows it (the title is the tooltip and the accessible description).
    status.hover()
    expect(status).to_have_accessible_description(re.compile(r"UTC"))

    stick(board, FAN_PIN, False)  # the relay is welded open: it cannot follow
    fan.get_by_role("switch").click()
    expect(fan.get_by_test_id("relay-error")).to_contain_text("reads on=False")
    expect(fan).to_have_attribute("data-alarm", "high")
    mark = fan.get_by_test_id("alarm-mark")
    expect(mark).to_have_text("▲ High alarm: did not follow its command")  # shape and words
    expect(mark).to_have_attribute("title", re.compile(r"^Fan: .* · raised at .*UTC$"))
    page.screenshot(path=str(ARTIFACTS / "11-relay-alarm.png"), full_page=True)

    page.get_by_test_id("layout-table").click()
    row = page.get_by_test_id(f"row-{GW}-oven")
    expect(row.get_by_test_id("value")).to_have_attribute("title", re.compile(r"read at .*UTC"))
    expect(row.get_by_test_id("age")).to_have_attribute("title", UTC)
    expect(fan.get_by_test_id("alarm-mark")).to_have_text(
        "▲ High alarm: did not follow its command"
    )

    # In Persian the times are written the Persian way (digits, Solar Hijri year).
    page.get_by_test_id("language").select_option("fa")
    expect(fan.get_by_test_id("alarm-mark")).to_contain_text("از فرمان پیروی نکرد")
    expect(status).to_have_attribute("title", PERSIAN_DIGITS)
    expect(row.get_by_test_id("age")).to_have_attribute("title", SOLAR_HIJRI_YEAR)
    page.get_by_test_id("language").select_option("en")

    stick(board, FAN_PIN, True)  # mended: the next command follows and clears it
    fan.get_by_role("switch").click()
    expect(status).to_have_text("On")
    expect(fan).not_to_have_attribute("data-alarm", re.compile("."))


def test_an_operator_takes_a_device_out_of_service_in_a_dialog_and_returns_it(
    oven_stack: tuple[Stack, Path], page: Page, browser: Browser
) -> None:
    stack, zone = oven_stack
    log_in(page, stack)
    user = stack.operator_credentials[0]
    banner = page.get_by_test_id("alarm-banner")
    card = page.get_by_test_id(f"device-{GW}-oven")
    set_oven(zone, 30.0)
    high = banner.get_by_test_id("alarm-count-high")
    expect(high).to_have_attribute("data-count", "1")

    toggle = card.get_by_test_id("service-toggle")
    toggle.click()
    dialog = page.get_by_role("dialog", name="Take Oven out of service?")
    expect(dialog).to_be_visible()
    confirm = dialog.get_by_role("button", name="Take out of service")
    expect(confirm).to_be_disabled()  # a reason is required
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(card).not_to_have_attribute("data-out-of-service", "true")

    toggle.click()
    dialog.get_by_label("Why is it taken out of service?").fill("recalibration")
    confirm.click()
    expect(card).to_have_attribute("data-out-of-service", "true")
    expect(card).to_contain_text("Out of service")
    expect(banner.get_by_test_id("alarm-none")).to_be_visible()  # its alarm no longer counted
    expect(toggle).to_have_text("Return to service")
    page.screenshot(path=str(ARTIFACTS / "12-out-of-service.png"), full_page=True)

    page.get_by_test_id("view-events").click()
    page.get_by_test_id("event-kind").select_option("command")
    log = page.get_by_test_id("event-log")
    expect(log.get_by_test_id("event-text").first).to_have_text(
        f"{user}: out of service: line1/oven (recalibration): done"
    )
    expect(log.locator("tr[data-action=out_of_service]").first).to_contain_text(user)

    page.get_by_test_id("view-plant").click()
    toggle.click()
    expect(card).not_to_have_attribute("data-out-of-service", "true")
    expect(high).to_have_attribute("data-count", "1")  # counted again: still above its limit
    expect(toggle).to_have_text("Take out of service")

    # A viewer gets no working control, and is told why.
    password = secrets.token_urlsafe(12)
    Accounts(stack.bridge_state).add_user("vera", "viewer", password)
    viewer = browser.new_page()
    try:
        log_in(viewer, stack, ("vera", password))
        theirs = viewer.get_by_test_id(f"device-{GW}-oven").get_by_test_id("service-toggle")
        expect(theirs).to_have_attribute("aria-disabled", "true")
        theirs.click(force=True)  # aria-disabled: it still answers a click, with the reason
        expect(viewer.get_by_role("dialog")).to_have_count(0)
        expect(viewer.get_by_test_id("service-note")).to_have_text(
            "Your role may only view: taking a device out of service needs an operator login."
        )
    finally:
        viewer.close()
