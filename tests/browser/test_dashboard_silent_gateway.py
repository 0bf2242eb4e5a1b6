"""Trust, item 3, in a real Chromium: a stopped gateway is shown Silent, not Offline, with its
values stale and the header no longer calling the data live; it recovers when continued."""

from __future__ import annotations

import contextlib
import os
import re
import signal
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
DEVICES = ("temperature", "humidity", "vibration", "pressure", "machine_running")
# The tooltips give the last message as an absolute time.
SINCE_UTC = re.compile(r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


def _health_ok(base_url: str) -> bool:
    with urllib.request.urlopen(base_url + "/api/health", timeout=2) as answer:
        return bool(answer.status == 200)


@pytest.fixture
def silenceable_stack(broker: LocalBroker, tmp_path: Path) -> Iterator[Stack]:
    """The simulated gateway with a long keepalive: stopped, it keeps its connection (and the
    broker sends no last will) for the whole test, as a hung process would for a while."""
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(f"{WEB_DIST} is not built: run `make setup` or `cd web && npm run build`")
    s = Stack(
        tmp_path,
        broker=broker,
        gateway_env={"FACTORY_MQTT_KEEPALIVE": "120"},
        bridge_env={"FACTORY_WEB_DIST": str(WEB_DIST)},
    )
    try:
        s.start()
        s.bridge.wait_until(lambda: _health_ok(s.base_url), what="/api/health answers 200")
        yield s
    finally:
        # A stopped process cannot act on SIGTERM: it is continued first, always.
        with contextlib.suppress(ProcessLookupError):
            s.gateway.signal(signal.SIGCONT)
        s.stop()


def open_dashboard(page: Page, stack: Stack) -> None:
    page.goto(f"{stack.base_url}/")
    form = page.get_by_role("form", name="Log in")
    expect(form.or_(page.get_by_test_id(f"device-{GW}-temperature"))).to_be_visible()
    if form.is_visible():
        user, password = stack.operator_credentials
        form.get_by_label("User name").fill(user)
        form.get_by_label("Password").fill(password)
        form.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("connection-status")).to_contain_text("Real-time Connected")


def test_a_stopped_gateway_shows_silent_distinct_from_offline_then_recovers(
    silenceable_stack: Stack, page: Page
) -> None:
    stack = silenceable_stack
    open_dashboard(page, stack)
    gateway = page.get_by_test_id(f"gateway-{GW}")
    badge = gateway.get_by_test_id("gateway-status")
    expect(badge).to_have_text("Online")
    expect(page.get_by_test_id("data-age")).to_have_text("live")

    os.kill(stack.gateway.pid, signal.SIGSTOP)

    # Silent: its own word and shape, not Offline's, and the gateway is still connected.
    expect(badge).to_have_text("Silent", timeout=30_000)
    expect(gateway).to_have_attribute("data-status", "silent")
    expect(gateway).to_have_attribute("data-online", "true")
    expect(gateway.get_by_test_id("gateway-status-icon")).to_have_text("◌")
    since = gateway.get_by_test_id("gateway-silent-since")
    expect(since).to_contain_text("nothing received for")
    expect(since).to_contain_text("values not live")
    expect(since).to_have_attribute("title", SINCE_UTC)
    for device in DEVICES:
        card = page.get_by_test_id(f"device-{GW}-{device}")
        expect(card).to_have_attribute("data-state", "stale")
        expect(card.get_by_test_id("note")).to_have_text("gateway silent")
    switch = gateway.get_by_role("switch").first
    expect(switch).to_have_attribute("aria-disabled", "true")
    expect(gateway.get_by_test_id("relay-status").first).to_contain_text("(gateway silent)")
    expect(page.get_by_test_id(f"stats-{GW}")).to_have_attribute("data-state", "stale")

    # The header: still connected to the bridge, but it does not call this data live.
    header = page.get_by_test_id("connection-status")
    expect(header).to_contain_text("Real-time Connected")
    expect(page.get_by_test_id("data-age")).to_have_text("1 gateway silent")
    expect(header).not_to_contain_text("live")
    detail = page.get_by_test_id("connection-detail")
    expect(detail).to_have_text(f"silent: {_gateway_name(page)}")
    expect(detail).to_have_attribute("title", SINCE_UTC)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "08-gateway-silent.png"), full_page=True)

    os.kill(stack.gateway.pid, signal.SIGCONT)

    expect(badge).to_have_text("Online", timeout=30_000)
    expect(gateway.get_by_test_id("gateway-silent-since")).to_have_count(0)
    expect(page.get_by_test_id(f"device-{GW}-temperature")).to_have_attribute("data-state", "good")
    expect(page.get_by_test_id(f"stats-{GW}")).to_have_attribute("data-state", "good")
    expect(page.get_by_test_id("data-age")).to_have_text("live")
    expect(switch).to_have_attribute("aria-disabled", "false")


def _gateway_name(page: Page) -> str:
    return page.get_by_test_id(f"gateway-{GW}").locator("h2").inner_text()
