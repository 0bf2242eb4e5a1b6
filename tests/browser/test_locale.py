"""Persian and right-to-left (issue "Trends that last...", item 4) in a real Chromium: the
language follows the browser, mirrors the layout, writes numbers and dates for the locale, is
switchable in the header and remembered per user; no horizontal overflow on a phone or a desk."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bridge.security.accounts import Accounts
from devtools.stack import Stack

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
SCREENSHOTS = REPO / "docs" / "screenshots"
GW = "line1"
DEVICES = ("temperature", "humidity", "vibration", "pressure", "machine_running")

# Persian digits are U+06F0..U+06F9, its decimal separator U+066B; Intl writes minus as U+2212.
FA = "[\u06f0-\u06f9]"
PERSIAN_DIGIT = re.compile(FA)
# A reading as Persian shows it: Persian digits, the Persian decimal separator, or on/off.
PERSIAN_VALUE = re.compile(f"^(\u200e?[\u2212-]?{FA}+(\u066b{FA}+)?|روشن|خاموش)$")
LATIN_VALUE = re.compile("^(\u200e?[\u2212-]?[0-9]+(\\.[0-9]+)?|روشن|خاموش)$")


OpenPage = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser) -> Iterator[OpenPage]:
    """Opens pages in fresh contexts (own storage, language, viewport); closes them after."""
    contexts: list[BrowserContext] = []

    def open_page(locale: str, width: int = 1440, height: int = 900) -> Page:
        context = browser.new_context(
            locale=locale, viewport={"width": width, "height": height}, reduced_motion="reduce"
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def log_in(page: Page, user: str, password: str) -> None:
    """The login form by its fields' names: its labels are in the page's language."""
    page.locator('input[name="username"]').fill(user)
    page.locator('input[name="password"]').fill(password)
    page.locator('form button[type="submit"]').click()
    expect(page.get_by_test_id("user")).to_contain_text(user)
    for device in DEVICES:
        expect(page.get_by_test_id(f"device-{GW}-{device}")).to_be_visible()


def overflow(page: Page) -> int:
    """How many pixels the page is wider than its window (0: no horizontal scrolling)."""
    width: int = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


def save(page: Page, name: str, readme: str | None = None) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    # A test run must not rewrite a tracked file: `make screenshots` refreshes the README's.
    if readme is not None and os.environ.get("FACTORY_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / readme))


def test_persian_browser_gets_a_mirrored_persian_dashboard(
    stack: Stack, new_page: OpenPage
) -> None:
    page = new_page("fa-IR")
    page.goto(f"{stack.base_url}/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "fa")
    expect(html).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("form", name="ورود")).to_be_visible()
    save(page, "fa-01-login")

    user, password = stack.operator_credentials
    log_in(page, user, password)
    expect(page.get_by_test_id("user")).to_contain_text("(اپراتور)")
    expect(page.get_by_test_id("connection-status")).to_contain_text("اتصال بی‌درنگ برقرار است")
    expect(page).to_have_title(re.compile("کارخانه"))

    gateway = page.get_by_test_id(f"gateway-{GW}")
    expect(gateway.get_by_test_id("gateway-status")).to_have_text("برخط")
    for device in DEVICES:
        value = page.get_by_test_id(f"device-{GW}-{device}").get_by_test_id("value")
        expect(value).to_have_text(PERSIAN_VALUE)
    expect(page.get_by_test_id("stats-bridge").get_by_test_id("stat-uptime")).to_contain_text(
        PERSIAN_DIGIT
    )
    # Every shown age carries its absolute time, in the Solar Hijri calendar (year 14xx).
    age = page.get_by_test_id(f"device-{GW}-temperature").get_by_test_id("age")
    expect(age).to_have_attribute(
        "title", re.compile(f"\u06f1\u06f4{FA}{{2}} ساعت [{FA[1:-1]}:]+ \\(UTC\\)")
    )

    # Mirrored: the title at the right, the connection and user at the left; the On side of a
    # switch is its left.
    title = page.get_by_role("heading", level=1).bounding_box()
    status = page.get_by_test_id("connection-status").bounding_box()
    assert title is not None and status is not None
    assert title["x"] > status["x"], "in Persian the page title is at the right"
    # Cards flow from the right: the first (in the gateway's order) is right of the second.
    cards = page.locator(f'[data-testid="gateway-{GW}"] [data-testid^="device-"]')
    first, second = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
    assert first is not None and second is not None
    assert first["x"] > second["x"], "in Persian the first card is at the right"
    # A switch that is off has its knob at the start: the right.
    switch = page.locator(f'[data-testid="relay-{GW}-relay_1"] [role="switch"]')
    expect(switch).to_have_attribute("aria-checked", "false")
    knob, track = switch.locator(".switch-knob").bounding_box(), switch.bounding_box()
    assert knob is not None and track is not None
    assert knob["x"] > track["x"] + track["width"] / 2, "an Off knob sits at the right"
    assert overflow(page) == 0
    save(page, "fa-02-dashboard", readme="dashboard-fa.png")

    page.emulate_media(color_scheme="dark")
    save(page, "fa-03-dashboard-dark")


def test_language_and_digits_switch_and_are_remembered_per_user(
    stack: Stack,
    new_page: OpenPage,
) -> None:
    accounts = Accounts(stack.bridge_state)
    viewer_password = secrets.token_urlsafe(12)
    accounts.add_user("viewer_two", "viewer", viewer_password)
    user, password = stack.operator_credentials

    page = new_page("en-US")
    page.goto(f"{stack.base_url}/")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    log_in(page, user, password)
    value = page.get_by_test_id(f"device-{GW}-humidity").get_by_test_id("value")
    expect(value).to_have_text(re.compile(r"^-?\d+(\.\d+)?$"))
    expect(page.get_by_test_id("digits")).to_have_count(0)  # English has only Latin digits

    page.get_by_label("Language").select_option("fa")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_test_id("connection-status")).to_contain_text("اتصال بی‌درنگ برقرار است")
    expect(value).to_have_text(PERSIAN_VALUE)
    page.get_by_label("ارقام").select_option("latin")
    expect(value).to_have_text(LATIN_VALUE)
    expect(page.get_by_test_id("user")).to_contain_text("(اپراتور)")

    # Kept over a reload.
    page.reload()
    expect(page.get_by_test_id("connection-status")).to_contain_text("اتصال بی‌درنگ برقرار است")
    expect(value).to_have_text(LATIN_VALUE)
    expect(page.get_by_test_id("digits")).to_have_value("latin")

    # Another user on the same browser chooses English for themselves ...
    page.get_by_role("button", name="خروج").click()
    log_in(page, "viewer_two", viewer_password)
    page.get_by_test_id("language").select_option("en")
    expect(page.get_by_test_id("user")).to_contain_text("(viewer)")
    page.get_by_role("button", name="Log out").click()

    # ... and the first gets their own Persian with Latin digits back when logging in again.
    log_in(page, user, password)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_test_id("user")).to_contain_text("(اپراتور)")
    expect(value).to_have_text(LATIN_VALUE)
    save(page, "fa-04-latin-digits")


@pytest.mark.parametrize("locale", ["en-US", "fa-IR"])
def test_no_horizontal_overflow_on_a_phone_or_a_desk(
    stack: Stack,
    new_page: OpenPage,
    locale: str,
) -> None:
    page = new_page(locale, width=390, height=844)
    page.goto(f"{stack.base_url}/")
    expect(page.locator('input[name="username"]')).to_be_visible()
    assert overflow(page) == 0, "the login page scrolls sideways at 390 px"
    user, password = stack.operator_credentials
    log_in(page, user, password)
    # Long names are where a layout breaks first.
    expect(page.get_by_test_id("stats-bridge").get_by_test_id("stat-uptime")).not_to_have_text("—")
    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        assert overflow(page) == 0, f"{locale} scrolls sideways at {width} px"
        save(page, f"{locale}-{width}px")
    if locale == "fa-IR":
        page.set_viewport_size({"width": 390, "height": 844})
        save(page, "fa-phone", readme="dashboard-fa-phone.png")
