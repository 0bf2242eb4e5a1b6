"""axe-core (WCAG 2.1 A and AA rules) in a real Chromium on the login page and the logged-in
dashboard, in light and dark and in English and Persian: no serious or critical violation, and
every landmark has a name of its own (issue "Trends that last...", item 5)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, expect

from devtools.mqtt_probe import MqttProbe
from devtools.stack import Stack
from factory_core.contract import (
    DeviceInfo,
    DeviceState,
    GatewayMeta,
    Quality,
    RelayInfo,
    RelayState,
    Topics,
)
from tests.browser.axe import axe_problems

pytestmark = pytest.mark.browser

GW = "line1"
DEVICES = ("temperature", "humidity", "vibration", "pressure", "machine_running")


def offline_gateway_and_a_bad_sensor(stack: Stack) -> None:
    """What makes grey and red text: gateway line9 gone offline (stale cards, a greyed relay)
    and line8 online with a sensor that cannot be read, next to the live simulated line1."""
    topics = Topics()
    now = time.time()

    def reading(value: float | bool | None, quality: Quality = "good") -> bytes:
        return DeviceState(value=value, ts=now, seq=1, quality=quality).model_dump_json().encode()

    line9 = GatewayMeta(
        version="t",
        name="Line 9",
        devices=[
            DeviceInfo(id="oven", name="Oven temperature", kind="temperature", unit="°C"),
            DeviceInfo(id="door", name="Door closed", kind="digital_input"),
        ],
        relays=[RelayInfo(id="relay_9", name="Press")],
    )
    line8 = GatewayMeta(
        version="t",
        name="Line 8",
        devices=[DeviceInfo(id="flow", name="Coolant flow", kind="flow", unit="l/min")],
    )
    with MqttProbe(stack.broker.url) as probe:
        probe.publish(topics.meta("line9"), line9.to_bytes(), retain=True)
        probe.publish(topics.device_state("line9", "oven"), reading(181.5), retain=True)
        probe.publish(topics.device_state("line9", "door"), reading(True), retain=True)
        relay = RelayState(on=True, ts=now, seq=1)
        probe.publish(topics.relay_state("line9", "relay_9"), relay.to_bytes(), retain=True)
        probe.publish(topics.status("line9"), "offline", retain=True)
        probe.publish(topics.meta("line8"), line8.to_bytes(), retain=True)
        probe.publish(topics.device_state("line8", "flow"), reading(None, "bad"), retain=True)
        probe.publish(topics.status("line8"), "online", retain=True)


def test_axe_finds_nothing_serious_in_light_dark_english_persian(
    stack: Stack, browser: Browser
) -> None:
    """One stack for all eight scans: each new context is a new visitor (own storage)."""
    offline_gateway_and_a_bad_sensor(stack)
    user, password = stack.operator_credentials
    problems: list[str] = []
    for locale in ("en-US", "fa-IR"):
        for scheme in ("light", "dark"):
            context = browser.new_context(
                locale=locale,
                color_scheme=scheme,
                reduced_motion="reduce",
                viewport={"width": 1280, "height": 900},
            )
            try:
                page = context.new_page()
                page.goto(f"{stack.base_url}/")
                expect(page.locator('input[name="username"]')).to_be_visible()
                problems += axe_problems(page, f"{locale} {scheme} login")

                page.locator('input[name="username"]').fill(user)
                page.locator('input[name="password"]').fill(password)
                page.locator('form button[type="submit"]').click()
                for device in DEVICES:
                    card = page.get_by_test_id(f"device-{GW}-{device}")
                    expect(card.get_by_test_id("value")).not_to_have_text("—")
                expect(page.get_by_test_id("device-line9-oven")).to_have_attribute(
                    "data-state", "stale"
                )
                expect(page.get_by_test_id("device-line8-flow")).to_have_attribute(
                    "data-state", "bad"
                )
                stats = page.get_by_test_id("stats-bridge").get_by_test_id("stat-uptime")
                expect(stats).not_to_have_text("—")
                problems += axe_problems(page, f"{locale} {scheme} dashboard")
                for view, shown in (("alarms", "alarm-list"), ("events", "event-log")):
                    page.get_by_test_id(f"view-{view}").click()
                    expect(page.get_by_test_id(shown)).to_be_visible()
                    problems += axe_problems(page, f"{locale} {scheme} {view}")
            finally:
                context.close()
    assert problems == [], "\n".join(problems)
