"""Trends 2 and 5: a device's trend in a real Chromium against the real stack (simulated
gateway, bridge with its durable history), and axe-core scans of the pages."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from devtools.stack import Stack
from tests.browser.axe import axe_problems

pytestmark = pytest.mark.browser

GW = "line1"
PRESET_SLACK_S = 5  # web/src/trend.ts
CURSOR_TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"


def log_in(page: Page, stack: Stack) -> None:
    page.goto(f"{stack.base_url}/")
    form = page.get_by_role("form", name="Log in")
    user, password = stack.operator_credentials
    form.get_by_label("User name").fill(user)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id(f"device-{GW}-temperature")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_contain_text("Real-time Connected")


def wait_for_history(stack: Stack, device: str, points: int) -> None:
    """The bridge has stored at least this many readings of the device (it flushes each s)."""
    # Within the last hour, the bridge answers from its per-second tier.
    path = f"/api/devices/{GW}/{device}/history?from={int(time.time()) - 600}"
    stack.bridge.wait_until(
        lambda: len(stack.api(path)["points"]) >= points,
        timeout=30,
        what=f"{points} stored readings of {device}",
    )


def open_trend(page: Page, device: str) -> Any:
    page.get_by_test_id(f"device-{GW}-{device}").get_by_test_id("open-trend").click()
    trend = page.get_by_role("dialog")
    expect(trend).to_be_visible()
    expect(trend.get_by_test_id("trend-chart")).to_have_attribute("aria-busy", "false")
    return trend


def shown_range(trend: Any) -> tuple[float, float]:
    chart = trend.get_by_test_id("trend-chart")
    return float(chart.get_attribute("data-from")), float(chart.get_attribute("data-to"))


def test_a_device_trend_has_axes_the_value_and_time_under_the_cursor_zoom_and_pan(
    stack: Stack, page: Page
) -> None:
    wait_for_history(stack, "temperature", 5)
    log_in(page, stack)
    trend = open_trend(page, "temperature")
    expect(trend.get_by_role("heading")).to_contain_text("Oven temperature")

    # The last hour by default, with a time axis and a value axis in the device's unit.
    start, end = shown_range(trend)
    assert end - start == 3600 - PRESET_SLACK_S
    assert end == pytest.approx(time.time(), abs=120)
    chart = trend.get_by_test_id("trend-chart")
    expect(chart).to_have_attribute("data-axes", "time|°C")
    # At most one point per pixel: ~3.6 s buckets over the readings stored so far.
    assert int(chart.get_attribute("data-points") or 0) >= 2

    # Under the cursor: the absolute time and the value there, with its unit.
    box = chart.locator(".u-over").bounding_box()
    assert box is not None
    readout = trend.get_by_test_id("trend-cursor")
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] / 2)
    expect(readout).to_have_text(re.compile(rf"^{CURSOR_TIME} · Oven temperature -?\d+\.\d+ °C$"))

    # Dragging across the last tenth zooms into it; the bridge is asked for that range.
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 1, box["y"] + 20, steps=5)
    page.mouse.up()
    expect(trend.get_by_test_id("trend-chart")).not_to_have_attribute("data-from", str(int(start)))
    z_start, z_end = shown_range(trend)
    assert start + 3000 < z_start < z_end <= end + 1
    assert z_end - z_start < 600

    # Earlier pans by half the width; zoom out doubles it.
    trend.get_by_role("button", name="◀ Earlier").click()
    expect(chart).not_to_have_attribute("data-to", str(int(z_end)))
    e_start, e_end = shown_range(trend)
    assert e_end == pytest.approx(z_end - (z_end - z_start) / 2, abs=1)
    assert e_end - e_start == z_end - z_start
    trend.get_by_role("button", name="Zoom out").click()
    expect(chart).to_have_attribute("aria-busy", "false")
    p_start, p_end = shown_range(trend)
    assert p_end - p_start == pytest.approx(2 * (z_end - z_start), abs=2)

    # 7 d: the bridge answers from its per-minute tier; the range is a week.
    trend.get_by_role("button", name="7 d").click()
    expect(trend.get_by_role("button", name="7 d")).to_have_attribute("aria-pressed", "true")
    expect(chart).to_have_attribute("aria-busy", "false")
    w_start, w_end = shown_range(trend)
    assert w_end - w_start == 7 * 86400 - PRESET_SLACK_S

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_several_devices_on_one_chart_each_unit_on_its_own_axis(stack: Stack, page: Page) -> None:
    wait_for_history(stack, "humidity", 3)
    log_in(page, stack)
    trend = open_trend(page, "temperature")
    trend.get_by_test_id("trend-add").select_option(label="Line 1 (simulated) · Hall humidity (%)")
    expect(trend.get_by_role("heading")).to_contain_text("Oven temperature, Hall humidity")
    chart = trend.get_by_test_id("trend-chart")
    expect(chart).to_have_attribute("aria-busy", "false")
    expect(chart).to_have_attribute("data-axes", "time|°C|%")
    expect(chart).to_have_attribute("data-lines", "2")
    box = chart.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] / 2)
    expect(trend.get_by_test_id("trend-cursor")).to_have_text(
        re.compile(rf"^{CURSOR_TIME} · Oven temperature -?[\d.]+ °C · Hall humidity -?[\d.]+ %$")
    )
    # And off again.
    trend.get_by_role("button", name="Remove Hall humidity from the chart").click()
    expect(chart).to_have_attribute("data-axes", "time|°C")


def test_a_custom_range_is_checked_before_it_is_asked_for(stack: Stack, page: Page) -> None:
    log_in(page, stack)
    trend = open_trend(page, "temperature")
    trend.get_by_role("button", name="Custom").click()
    trend.get_by_label("From (UTC)").fill("2026-01-31T07:00")
    trend.get_by_label("To (UTC)").fill("2026-01-31T06:00")
    trend.get_by_role("button", name="Show").click()
    expect(trend.get_by_role("alert")).to_have_text(
        "The end must be at least 10 seconds after the start."
    )
    trend.get_by_label("To (UTC)").fill("2026-01-31T09:00")
    trend.get_by_role("button", name="Show").click()
    chart = trend.get_by_test_id("trend-chart")
    expect(chart).to_have_attribute("data-from", "1769842800")
    expect(chart).to_have_attribute("data-to", "1769850000")
    # Long before this bridge started: nothing stored, and it says so.
    expect(trend.get_by_test_id("trend-empty")).to_be_visible()


def test_axe_finds_nothing_serious_in_the_trend_view_and_the_table(
    stack: Stack, browser: Browser
) -> None:
    """The trend view and the table in light and dark, English and Persian; one stack."""
    wait_for_history(stack, "temperature", 2)
    user, password = stack.operator_credentials
    problems: list[str] = []
    for locale in ("en-US", "fa-IR"):
        for scheme in ("light", "dark"):
            where = f"{locale} {scheme}"
            context = browser.new_context(
                locale=locale,
                color_scheme=scheme,  # type: ignore[arg-type]
                reduced_motion="reduce",
                viewport={"width": 1280, "height": 900},
            )
            try:
                page = context.new_page()
                page.goto(f"{stack.base_url}/")
                page.locator('input[name="username"]').fill(user)
                page.locator('input[name="password"]').fill(password)
                page.locator('form button[type="submit"]').click()
                card = page.get_by_test_id(f"device-{GW}-temperature")
                expect(card.get_by_test_id("value")).not_to_have_text("—")
                page.get_by_test_id("layout-table").click()
                expect(page.get_by_test_id(f"table-{GW}")).to_be_visible()
                problems += axe_problems(page, f"{where} table")
                page.get_by_test_id("layout-cards").click()
                open_trend(page, "temperature")
                problems += axe_problems(page, f"{where} trend view")
            finally:
                context.close()
    assert problems == [], "\n".join(problems)
