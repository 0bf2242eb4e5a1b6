"""axe-core (WCAG 2.1 A and AA rules) in a real Chromium on the login page and the logged-in
dashboard, in light and dark and in English and Persian: no serious or critical violation, and
every landmark has a name of its own (issue "Trends that last...", item 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from devtools.stack import Stack

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
GW = "line1"
DEVICES = ("temperature", "humidity", "vibration", "pressure", "machine_running")
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# Serious and critical fail; of the rest only a landmark without a name of its own, which the
# issue names (axe calls it moderate).
ALSO_FAIL = {"landmark-unique"}


def axe_problems(page: Page, where: str) -> list[str]:
    """What axe-core finds on the page as it is now, one line per rule broken."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci in web/)")
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, { runOnly: { type: 'tag', values: tags } })", WCAG_21_AA
    )
    problems = []
    for v in result["violations"]:
        if v["impact"] in ("serious", "critical") or v["id"] in ALSO_FAIL:
            nodes = "; ".join(
                f"{n['target']}: {n.get('failureSummary', '').splitlines()[-1].strip()}"
                for n in v["nodes"][:5]
            )
            problems.append(f"{where}: {v['id']} ({v['impact']}, {len(v['nodes'])}x) {nodes}")
    return problems


def test_axe_finds_nothing_serious_in_light_dark_english_persian(
    stack: Stack, browser: Browser
) -> None:
    """One stack for all eight scans: each new context is a new visitor (own storage)."""
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
                stats = page.get_by_test_id("stats-bridge").get_by_test_id("stat-uptime")
                expect(stats).not_to_have_text("—")
                problems += axe_problems(page, f"{locale} {scheme} dashboard")
            finally:
                context.close()
    assert problems == [], "\n".join(problems)
