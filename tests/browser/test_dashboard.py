"""Issue 5: the dashboard in a real Chromium against the real stack."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Route, WebSocketRoute, expect

from devtools.mqtt_probe import MqttProbe
from devtools.stack import Stack
from factory_core.contract import (
    DeviceState,
    GatewayMeta,
    Quality,
    RelayInfo,
    RelayState,
    Topics,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
README_SCREENSHOT = REPO / "docs" / "screenshots" / "dashboard.png"

GW = "line1"
DEVICES = ("temperature", "humidity", "vibration", "pressure", "machine_running")
RELAYS = {
    "relay_1": "Conveyor motor",
    "relay_2": "Coolant pump",
    "relay_3": "Warning light",
    "relay_4": "Exhaust fan",
}
topics = Topics()

# Records every state an element goes through, so a value or a "pending" that is on screen
# for only a few milliseconds (the simulator moves on every second) is still seen.
_WATCH = """sel => {
  const el = document.querySelector(sel);
  if (!el) throw new Error('nothing matches ' + sel);
  const seen = ((window.__seen ??= {})[sel] = []);
  const snap = () => seen.push({
    text: el.textContent,
    state: el.getAttribute('data-state'),
    checked: el.getAttribute('aria-checked'),
  });
  snap();
  new MutationObserver(snap).observe(el, {
    attributes: true, characterData: true, childList: true, subtree: true,
  });
}"""


def watch(page: Page, selector: str) -> None:
    page.evaluate(_WATCH, selector)


def seen(page: Page, selector: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate("sel => window.__seen[sel]", selector)
    return result


def wait_seen(page: Page, selector: str, key: str, value: str, timeout: float = 30_000) -> None:
    page.wait_for_function(
        "([sel, key, value]) => window.__seen[sel].some(s => s[key] === value)",
        arg=[selector, key, value],
        timeout=timeout,
    )


def value_selector(device: str, gw: str = GW) -> str:
    return f'[data-testid="device-{gw}-{device}"] [data-testid="value"]'


def switch_selector(relay: str) -> str:
    return f'[data-testid="relay-{GW}-{relay}"] [role="switch"]'


def status(page: Page) -> Any:
    return page.get_by_test_id("connection-status")


def screenshot(page: Page, name: str) -> None:
    """Saves what the page shows now as a test artifact (test-artifacts/, git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in_if_asked(page: Page, stack: Stack) -> None:
    """Logs in through the dashboard's form, as the operator the stack created."""
    form = page.get_by_role("form", name="Log in")
    expect(form.or_(page.get_by_test_id(f"device-{GW}-temperature"))).to_be_visible()
    if form.is_visible():
        user, password = stack.operator_credentials
        form.get_by_label("User name").fill(user)
        form.get_by_label("Password").fill(password)
        form.get_by_role("button", name="Log in").click()
        expect(page.get_by_test_id("user")).to_contain_text(f"{user} (operator)")


def open_dashboard(page: Page, stack: Stack) -> None:
    page.goto(f"{stack.base_url}/")
    log_in_if_asked(page, stack)
    expect(status(page)).to_contain_text("Real-time Connected")
    for device in DEVICES:
        expect(page.get_by_test_id(f"device-{GW}-{device}")).to_be_visible()


@pytest.fixture
def gateway_probe(stack: Stack) -> Iterator[MqttProbe]:
    """Publishes as if it were a gateway."""
    with MqttProbe(stack.broker.url, [topics.status(GW)]) as p:
        yield p


def reading(value: float | None, quality: Quality = "good", unit: str | None = None) -> bytes:
    state = DeviceState(value=value, unit=unit, ts=time.time(), seq=10**9, quality=quality)
    # Not to_bytes(): it leaves out a null value, which the contract requires to be present.
    return state.model_dump_json().encode()


def test_devices_appear_live_and_follow_mqtt(
    stack: Stack, page: Page, gateway_probe: MqttProbe
) -> None:
    open_dashboard(page, stack)
    expect(status(page)).to_contain_text("live")
    expect(page.get_by_test_id(f"device-{GW}-temperature")).to_contain_text("°C")
    for device in DEVICES:
        card = page.get_by_test_id(f"device-{GW}-{device}")
        expect(card).to_have_attribute("data-state", "good")
        expect(card.get_by_test_id("value")).to_have_text(re.compile(r"^(-?\d+(\.\d+)?|On|Off)$"))
    for name in RELAYS.values():
        expect(page.get_by_role("switch", name=name, exact=True)).to_be_visible()
    expect(page.get_by_test_id(f"stats-{GW}").get_by_test_id("stat-cpu")).to_contain_text("%")
    expect(page.get_by_test_id("stats-bridge").get_by_test_id("stat-uptime")).not_to_have_text("—")
    # Sparklines: the bridge's history, extended by live readings.
    expect(page.get_by_test_id(f"device-{GW}-temperature").locator("polyline")).to_have_count(1)
    # A few seconds of live readings, so that the README's picture shows real sparklines.
    page.wait_for_function(
        "sel => Number(document.querySelector(sel)?.dataset.points) >= 5",
        arg=f'[data-testid="device-{GW}-temperature"] [data-testid="sparkline"]',
    )
    screenshot(page, "01-realtime")
    # A test run must not rewrite a tracked file: `make screenshots` refreshes the README's.
    if os.environ.get("FACTORY_UPDATE_SCREENSHOTS") == "1":
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(README_SCREENSHOT))

    selector = value_selector("temperature")
    watch(page, selector)
    gateway_probe.publish(
        topics.device_state(GW, "temperature"), reading(99.5, unit="°C"), retain=True
    )
    wait_seen(page, selector, "text", "99.5")

    # Reduced motion switches transitions off, so the picture is not caught mid-fade.
    page.emulate_media(color_scheme="dark", reduced_motion="reduce")
    screenshot(page, "02-realtime-dark")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "03-phone")


def test_relay_switch_is_pending_then_confirmed_in_every_tab(
    stack: Stack, context: BrowserContext
) -> None:
    tab_a, tab_b = context.new_page(), context.new_page()
    open_dashboard(tab_a, stack)
    open_dashboard(tab_b, stack)
    motor_a = tab_a.get_by_role("switch", name="Conveyor motor", exact=True)
    motor_b = tab_b.get_by_role("switch", name="Conveyor motor", exact=True)
    expect(motor_a).to_have_attribute("aria-checked", "false")
    watch(tab_a, switch_selector("relay_1"))

    motor_a.click()

    expect(motor_a).to_have_attribute("data-state", "on")
    expect(motor_a).to_have_attribute("aria-checked", "true")
    history = seen(tab_a, switch_selector("relay_1"))
    states = [s["state"] for s in history]
    assert "pending" in states, history
    assert states.index("pending") < states.index("on"), history
    # The click did not flip the switch: it went pending showing the known state. (The
    # gateway's confirmed state may then arrive before the acknowledgement, and show at once.)
    first_pending = next(s for s in history if s["state"] == "pending")
    assert first_pending["checked"] == "false", history
    expect(motor_b).to_have_attribute("data-state", "on")
    expect(motor_b).to_have_attribute("aria-checked", "true")
    # The simulated wiring feeds the motor back into the "machine running" input.
    expect(
        tab_b.get_by_test_id(f"device-{GW}-machine_running").get_by_test_id("value")
    ).to_have_text("On")
    screenshot(tab_b, "04-relay-on-other-tab")

    # Keyboard: the switch is a real button.
    motor_b.focus()
    tab_b.keyboard.press("Space")
    expect(motor_b).to_have_attribute("aria-checked", "false")
    expect(motor_a).to_have_attribute("aria-checked", "false")
    expect(motor_a).to_have_attribute("data-state", "off")

    # Logging out on a shared tablet leaves no plant on screen, in any tab of that session.
    tab_b.get_by_role("button", name="Log out").click()
    for tab in (tab_a, tab_b):
        expect(tab.get_by_role("form", name="Log in")).to_be_visible()
        expect(tab.get_by_test_id(f"device-{GW}-temperature")).to_have_count(0)
        expect(status(tab)).to_contain_text("Logged out")
    screenshot(tab_a, "10-logged-out")


def test_http_fallback_when_socket_io_is_blocked_and_back(
    stack: Stack, page: Page, gateway_probe: MqttProbe
) -> None:
    blocked = True

    def http(route: Route) -> None:
        if blocked:
            route.abort()
        else:
            route.continue_()

    def websocket(ws: WebSocketRoute) -> None:
        if blocked:
            ws.close()
        else:
            ws.connect_to_server()

    page.route(re.compile(r"/socket\.io/"), http)
    page.route_web_socket(re.compile(r"/socket\.io/"), websocket)
    started = time.monotonic()
    page.goto(stack.base_url + "/")
    log_in_if_asked(page, stack)
    # The client falls back after fallbackAfterMs (5 s) from its first attempt; page load and
    # log-in come first, and a busy box is slow at all of it: wait generously.
    expect(status(page)).to_contain_text("HTTP Fallback Mode", timeout=30_000)
    print(f"fallback after {time.monotonic() - started:.1f} s")
    expect(page.get_by_test_id(f"device-{GW}-temperature")).to_have_attribute("data-state", "good")

    # New data keeps arriving, over HTTP polling.
    gateway_probe.publish(topics.device_state(GW, "probe_gauge"), reading(77.7, unit="bar"))
    expect(page.locator(value_selector("probe_gauge"))).to_have_text("77.7")
    expect(status(page)).to_contain_text("live")
    # And a relay switches through POST /api/relays.
    pump = page.get_by_role("switch", name="Coolant pump", exact=True)
    pump.click()
    expect(pump).to_have_attribute("data-state", "on")
    expect(status(page)).to_contain_text("HTTP Fallback Mode")
    screenshot(page, "05-http-fallback")

    blocked = False
    unblocked = time.monotonic()
    expect(status(page)).to_contain_text("Real-time Connected", timeout=30_000)
    print(f"real-time again {time.monotonic() - unblocked:.1f} s after unblocking")
    gateway_probe.publish(topics.device_state(GW, "probe_gauge"), reading(12.3, unit="bar"))
    expect(page.locator(value_selector("probe_gauge"))).to_have_text("12.3")


def test_killed_gateway_turns_its_cards_stale(
    stack: Stack, page: Page, gateway_probe: MqttProbe
) -> None:
    open_dashboard(page, stack)
    gateway = page.get_by_test_id(f"gateway-{GW}")
    expect(gateway.get_by_test_id("gateway-status")).to_have_text("Online")
    expect(page.get_by_test_id(f"stats-{GW}")).to_have_attribute("data-state", "good")

    stack.gateway.kill()

    expect(gateway.get_by_test_id("gateway-status")).to_have_text("Offline")
    expect(gateway).to_have_attribute("data-online", "false")
    for device in DEVICES:
        card = page.get_by_test_id(f"device-{GW}-{device}")
        expect(card).to_have_attribute("data-state", "stale")
        expect(card.get_by_test_id("note")).to_have_text("gateway offline")
    for name in RELAYS.values():
        expect(page.get_by_role("switch", name=name, exact=True)).to_have_attribute(
            "aria-disabled", "true"
        )
    expect(page.get_by_test_id(f"stats-{GW}")).to_have_attribute("data-state", "stale")
    expect(status(page)).to_contain_text("Real-time Connected")
    screenshot(page, "06-gateway-offline")

    # Someone else speaks for line1 again, with an unreadable sensor: shown as an error.
    gateway_probe.publish(topics.status(GW), "online", retain=True)
    # The bridge takes readings on a second MQTT connection (the samples one), so a reading
    # may overtake the status and be taken while the gateway still counts as offline (stale).
    # Shown online first, then the reading.
    expect(gateway.get_by_test_id("gateway-status")).to_have_text("Online")
    gateway_probe.publish(topics.device_state(GW, "pressure"), reading(None, quality="bad"))
    pressure = page.get_by_test_id(f"device-{GW}-pressure")
    expect(pressure).to_have_attribute("data-state", "bad")
    expect(pressure.get_by_test_id("note")).to_have_text("sensor error")
    expect(pressure.get_by_test_id("value")).to_have_text("—")
    screenshot(page, "07-bad-sensor")


def test_bridge_restart_shows_reconnecting_then_recovers(
    stack: Stack, page: Page, gateway_probe: MqttProbe
) -> None:
    open_dashboard(page, stack)
    # The bridge's own figures (every 2 s) are on screen, live, before it goes.
    expect(page.get_by_test_id("stats-bridge")).to_have_attribute("data-state", "good")

    stack.bridge.stop()

    expect(status(page)).to_contain_text("Reconnecting…")
    expect(status(page)).to_contain_text("HTTP Fallback Mode")
    # Nothing answers at all: the header says so, and how old the data on screen is.
    expect(status(page)).to_contain_text(
        "The bridge cannot be reached (the network or the bridge is down); the page keeps trying."
    )
    expect(status(page)).not_to_contain_text("Failed to fetch")
    # The bridge's own figures are its last: greyed out like a silent gateway's.
    expect(page.get_by_test_id("stats-bridge")).to_have_attribute("data-state", "stale")
    expect(status(page)).to_contain_text(re.compile(r"\d+ s old"))
    screenshot(page, "08-bridge-down")

    stack.bridge.start()

    expect(status(page)).to_contain_text("Real-time Connected", timeout=30_000)
    expect(status(page)).to_contain_text("live")
    # The new bridge process counts versions from its own start; the page follows it.
    gateway_probe.publish(topics.device_state(GW, "probe_gauge"), reading(33.3, unit="bar"))
    expect(page.locator(value_selector("probe_gauge"))).to_have_text("33.3")


def test_a_command_nobody_answers_shows_the_error_and_the_actual_state(
    stack: Stack, page: Page, gateway_probe: MqttProbe
) -> None:
    # A second gateway that announces a relay but never executes commands.
    meta = GatewayMeta(version="t", name="Line 9", relays=[RelayInfo(id="relay_9", name="Press")])
    gateway_probe.publish(topics.meta("line9"), meta.to_bytes(), retain=True)
    gateway_probe.publish(topics.status("line9"), "online", retain=True)
    relay = RelayState(on=False, ts=time.time(), seq=1)
    gateway_probe.publish(topics.relay_state("line9", "relay_9"), relay.to_bytes(), retain=True)
    open_dashboard(page, stack)
    press = page.get_by_role("switch", name="Press", exact=True)
    expect(press).to_have_attribute("data-state", "off")

    press.click()

    expect(press).to_have_attribute("data-state", "pending")
    expect(press).to_have_attribute("aria-checked", "false")
    expect(press).to_have_attribute("data-state", "error")
    expect(press).to_have_attribute("aria-checked", "false")
    row = page.get_by_test_id("relay-line9-relay_9")
    expect(row.get_by_test_id("relay-error")).to_contain_text("Failed: no answer")
    expect(row.get_by_test_id("relay-status")).to_have_text("Off")
    screenshot(page, "09-command-failed")
    row.get_by_role("button", name="Dismiss error for Press").click()
    expect(press).to_have_attribute("data-state", "off")
