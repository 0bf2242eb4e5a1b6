"""Relay safeguards in a real Chromium against the real stack (demo board: relay_5 "Oven
heater" asks for confirmation and needs relay_4 "Exhaust fan"), used from the keyboard."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from devtools.stack import Stack
from tests.browser.axe import axe_problems
from tests.browser.test_dashboard import GW, open_dashboard, screenshot

pytestmark = pytest.mark.browser


def audit(stack: Stack, relay: str) -> list[dict[str, object]]:
    answer = requests.get(
        f"{stack.base_url}/api/audit",
        params={"relay": relay},
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=15,
    )
    entries: list[dict[str, object]] = answer.json()["entries"]
    return entries


def test_an_interlocked_relay_says_why_and_a_confirm_relay_asks_first(
    page: Page, stack: Stack
) -> None:
    open_dashboard(page, stack)
    heater = page.get_by_test_id(f"safeguarded-{GW}-relay_5")
    heater_switch = page.get_by_role("switch", name="Oven heater", exact=True)
    fan_switch = page.get_by_role("switch", name="Exhaust fan", exact=True)
    # Before anyone tries: the rule, from the gateway's meta, and a switch that cannot be used.
    expect(heater.get_by_test_id("relay-interlock")).to_have_text(
        "Interlock heater_needs_fan: Oven heater may be on only while Exhaust fan is on"
    )
    expect(heater_switch).to_have_attribute("aria-disabled", "true")
    expect(heater.get_by_test_id("relay-status")).to_have_text("Off (interlocked)")

    fan_switch.focus()
    page.keyboard.press("Space")
    expect(fan_switch).to_have_attribute("aria-checked", "true")
    expect(heater.get_by_test_id("relay-interlock")).to_have_count(0)

    # The confirmation: named, keyboard-only, Escape cancels and sends nothing.
    heater_switch.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Switch Oven heater on?")
    expect(dialog).to_be_visible()
    screenshot(page, "safeguards-01-confirm")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(heater_switch).to_have_attribute("aria-checked", "false")

    heater_switch.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # never the action
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Switch on")).to_be_focused()
    page.keyboard.press("Enter")
    expect(heater_switch).to_have_attribute("aria-checked", "true")
    entry = audit(stack, "relay_5")[0]
    assert (entry["outcome"], entry["confirmed"], entry["on"]) == ("ok", True, True)

    # The fan goes off: the gateway trips the heater, and the page says so.
    fan_switch.click()
    expect(heater_switch).to_have_attribute("aria-checked", "false")
    expect(heater.get_by_test_id("relay-trip")).to_have_text(
        "Tripped by interlock heater_needs_fan"
    )
    expect(heater.get_by_test_id("relay-wear")).to_have_text(re.compile(r"^1 cycle · \d+ s on$"))
    # The gateway's own command latency, in its system stats.
    expect(page.get_by_test_id(f"stats-{GW}").get_by_test_id("stat-command")).to_have_text(
        re.compile(r"^\d+\.\d ms$")
    )


def test_a_lock_is_set_with_a_reason_shown_everywhere_refuses_everyone_and_lifts(
    page: Page, stack: Stack
) -> None:
    open_dashboard(page, stack)
    light = page.get_by_test_id(f"safeguarded-{GW}-relay_3")
    light.get_by_test_id("relay-lock-button").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Lock Warning light in its current state?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Lock", exact=True)).to_be_disabled()  # no reason
    expect(dialog.get_by_test_id("lock-reason")).to_be_focused()
    page.keyboard.type("replacing the bulb")
    page.keyboard.press("Enter")
    user = stack.operator_credentials[0]
    expect(light.get_by_test_id("relay-lock")).to_have_text(
        re.compile(rf"Locked by {user} since .+: replacing the bulb$")
    )
    expect(page.get_by_role("switch", name="Warning light", exact=True)).to_have_attribute(
        "aria-disabled", "true"
    )
    screenshot(page, "safeguards-02-locked")

    # Every client shows it; any other sender is refused by the gateway.
    other = page.context.new_page()
    open_dashboard(other, stack)
    expect(
        other.get_by_test_id(f"safeguarded-{GW}-relay_3").get_by_test_id("relay-lock")
    ).to_be_visible()
    other.close()
    script = requests.post(
        f"{stack.base_url}/api/relays/{GW}/relay_3",
        json={"on": True},
        headers=stack.auth_header,
        timeout=15,
    )
    assert script.json()["error"] == "locked", script.text

    # All to safe: confirmed, said plainly not to be an emergency stop, shown until done.
    page.get_by_test_id("all-to-safe-plant").get_by_role("button").click()
    confirm = page.get_by_role(
        "dialog", name="Drive every relay of the whole plant to its safe state?"
    )
    expect(confirm.get_by_test_id("not-an-estop")).to_contain_text(
        "not a safety-rated emergency stop"
    )
    confirm.get_by_role("button", name="Drive to safe state").click()
    expect(
        page.get_by_test_id("all-to-safe-plant").get_by_test_id("all-to-safe-status")
    ).to_have_text("Every relay is at its safe state.")
    expect(light.get_by_test_id("relay-lock")).to_be_visible()  # the lock outlives it

    light.get_by_test_id("relay-unlock-button").click()
    expect(light.get_by_test_id("relay-lock")).to_have_count(0)
    actions = [(e["action"], e["outcome"]) for e in audit(stack, "relay_3")[:3]]
    assert actions == [("unlock", "ok"), ("set_relay", "locked"), ("lock", "ok")]


def test_the_dialogs_in_persian_pass_axe(stack: Stack, browser: Browser) -> None:
    """The confirmation and the all-to-safe warning in Persian, right to left, open: nothing
    serious for axe-core, and the words are the catalog's."""
    context = browser.new_context(locale="fa-IR", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{stack.base_url}/")
        user, password = stack.operator_credentials
        page.locator('input[name="username"]').fill(user)
        page.locator('input[name="password"]').fill(password)
        page.locator('form button[type="submit"]').click()
        heater = page.get_by_test_id(f"safeguarded-{GW}-relay_5")
        expect(heater.get_by_test_id("relay-interlock")).to_contain_text(
            "اینترلاک heater_needs_fan"
        )
        page.get_by_test_id(f"safeguarded-{GW}-relay_3").get_by_test_id("relay-lock-button").click()
        dialog = page.get_by_test_id("confirm-lock")
        expect(dialog).to_contain_text("در وضعیت فعلی‌اش قفل شود؟")
        assert axe_problems(page, "fa lock dialog") == []
        page.keyboard.press("Escape")
        page.get_by_test_id("all-to-safe-plant").get_by_role("button").click()
        expect(page.get_by_test_id("not-an-estop")).to_contain_text("توقف اضطراری")
        assert axe_problems(page, "fa all-to-safe dialog") == []
    finally:
        context.close()
