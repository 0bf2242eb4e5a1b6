"""Trends 3: a whole plant on one screen, in a real Chromium against a bridge fed by the plant
simulator (devtools/plant_sim.py) through a real Mosquitto."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from devtools.local_broker import LocalBroker
from devtools.mqtt_probe import MqttProbe
from devtools.procs import ManagedProcess, python_module
from devtools.stack import Stack, http_json
from factory_core.contract import DeviceInfo, DeviceState, GatewayMeta, Topics

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
WEB_DIST = REPO / "web" / "dist"
GATEWAYS, DEVICES, RELAYS = 30, 20, 2
topics = Topics()


@pytest.fixture
def plant(broker: LocalBroker, tmp_path: Path) -> Iterator[Stack]:
    """A bridge and a simulated plant of 30 gateways x 20 devices that publishes its birth
    and then nothing (``--rate 0``), so that every value on screen is one the test sent."""
    s = Stack(tmp_path, broker=broker, bridge_env={"FACTORY_WEB_DIST": str(WEB_DIST)})
    sim = ManagedProcess(
        "plant_sim",
        python_module(
            "devtools.plant_sim",
            *("--mqtt-url", broker.url, "--gateways", str(GATEWAYS)),
            *("--devices", str(DEVICES), "--relays", str(RELAYS), "--rate", "0"),
        ),
        tmp_path / "plant_sim.log",
    )
    try:
        s.bridge.start()
        sim.start()
        s.bridge.wait_until(
            lambda: (
                len(http_json(f"{s.base_url}/api/state", token=s.api_token)["devices"])
                == GATEWAYS * DEVICES
            ),
            timeout=60,
            what=f"{GATEWAYS * DEVICES} devices in the bridge",
        )
        yield s
    finally:
        sim.stop()
        s.bridge.stop()


def log_in(page: Page, stack: Stack, extra_gateways: int = 0, extra_devices: int = 0) -> None:
    page.goto(f"{stack.base_url}/")
    form = page.get_by_role("form", name="Log in")
    user, password = stack.operator_credentials
    form.get_by_label("User name").fill(user)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Log in").click()
    gateways, devices = GATEWAYS + extra_gateways, GATEWAYS * DEVICES + extra_devices
    expect(page.get_by_test_id("plant-count")).to_contain_text(
        f"{gateways} gateways, {devices} devices"
    )


def card_ids(page: Page, gateway: str) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        f'[data-testid="gateway-{gateway}"] article', "els => els.map(e => e.dataset.testid)"
    )
    return [i.removeprefix(f"device-{gateway}-") for i in ids]


def reading(value: float) -> bytes:
    return DeviceState(value=value, unit="°C", ts=time.time(), seq=10**9).to_bytes()


def test_order_is_the_meta_order_and_gateways_by_name_whatever_arrives_first(
    plant: Stack, page: Page
) -> None:
    with MqttProbe(plant.broker.url) as gw:
        # Readings first, in one order; then the meta, listing them in another.
        for device in ("c", "a", "b"):
            gw.publish(topics.device_state("extra", device), reading(1.0), retain=True)
        meta = GatewayMeta(
            version="1",
            name="Aardvark hall",
            devices=[DeviceInfo(id=d, name=f"Sensor {d}", kind="temperature") for d in "bca"],
        )
        gw.publish(topics.meta("extra"), meta.to_bytes(), retain=True)
    log_in(page, plant, extra_gateways=1, extra_devices=3)
    sections = page.locator("section.gateway")
    expect(sections.first).to_have_attribute("data-testid", "gateway-extra")
    names = [n.strip() for n in page.locator(".gateway-toggle").all_inner_texts()[:12]]
    assert names == ["Aardvark hall", *(f"Line {n}" for n in range(1, 12))]
    expect(page.get_by_test_id("gateway-extra").locator("article")).to_have_count(3)
    assert card_ids(page, "extra") == ["b", "c", "a"]
    assert card_ids(page, "gw000") == [f"dev{d:02d}" for d in range(DEVICES)]


def test_search_collapse_and_table(plant: Stack, page: Page) -> None:
    log_in(page, plant)
    search = page.get_by_role("searchbox")
    # A gateway by id: all of it.
    search.fill("gw007")
    count = page.get_by_test_id("plant-count")
    expect(count).to_have_text(f"1 gateways, {DEVICES} devices, 2 relays")
    expect(page.locator("section.gateway")).to_have_count(1)
    expect(page.get_by_test_id("gateway-gw007").locator("article")).to_have_count(DEVICES)
    # Devices by name, across gateways: only those.
    search.fill("humidity 2")
    expect(count).to_have_text(f"{GATEWAYS} gateways, {GATEWAYS} devices, 0 relays")
    expect(page.get_by_test_id("gateway-gw000").locator("article")).to_have_count(1)
    expect(page.get_by_test_id("device-gw000-dev01")).to_be_visible()
    # A relay by name.
    search.fill("Line 3 relay 2")
    expect(count).to_have_text("1 gateways, 0 devices, 1 relays")
    expect(page.get_by_role("switch", name="Line 3 relay 2")).to_be_visible()
    search.fill("no such thing")
    expect(page.get_by_test_id("nothing-found")).to_have_text("Nothing matches “no such thing”.")
    search.fill("")

    # A gateway collapses to its header, and opens again.
    first = page.get_by_test_id("gateway-gw000")
    toggle = first.get_by_test_id("gateway-toggle")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(first.locator("article")).to_have_count(0)
    expect(first).to_contain_text(f"{DEVICES} devices, {RELAYS} relays hidden")
    toggle.click()
    expect(first.locator("article")).to_have_count(DEVICES)

    # The compact table: a row per device with its value.
    page.get_by_test_id("layout-table").click()
    table = page.get_by_test_id("table-gw000")
    expect(table.locator("tbody tr")).to_have_count(DEVICES)
    expect(table.get_by_test_id("row-gw000-dev00").get_by_test_id("value")).to_have_text(
        re.compile(r"^\d+\.\d+$")
    )


def test_a_panel_far_below_is_drawn_when_scrolled_to_with_the_latest_value(
    plant: Stack, page: Page
) -> None:
    log_in(page, plant)
    last = page.get_by_test_id("gateway-gw029")
    # Far below the viewport: only its header is drawn.
    expect(last.get_by_test_id("gateway-placeholder")).to_be_attached()
    expect(last.locator("article")).to_have_count(0)
    with MqttProbe(plant.broker.url) as gw:
        for value in (101.5, 202.5, 777.7):
            gw.publish(topics.device_state("gw029", "dev03"), reading(value), retain=True)
    plant.bridge.wait_until(
        lambda: plant.api("/api/state")["devices"]["gw029/dev03"]["value"] == 777.7,
        what="the bridge holds the last reading",
    )
    last.scroll_into_view_if_needed()
    expect(page.get_by_test_id("device-gw029-dev03").get_by_test_id("value")).to_have_text("777.7")
    # And it follows while in view.
    with MqttProbe(plant.broker.url) as gw:
        gw.publish(topics.device_state("gw029", "dev03"), reading(555.5), retain=True)
    expect(page.get_by_test_id("device-gw029-dev03").get_by_test_id("value")).to_have_text("555.5")
