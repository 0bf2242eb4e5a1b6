"""Browser tests: Debian's Chromium driven by Playwright against the real stack (Mosquitto,
a simulated gateway process and a bridge process serving the built dashboard)."""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from devtools.local_broker import LocalBroker
from devtools.stack import Stack

REPO = Path(__file__).resolve().parents[2]
WEB_DIST = REPO / "web" / "dist"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Generous: the stack runs on a loaded 2-core CI machine next to other suites.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Playwright's own browser download does not work here; Debian's chromium does.
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # English unless a test asks for another language (the dashboard follows the browser's).
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 900},
        "locale": "en-US",
    }


def _health_ok(base_url: str) -> bool:
    with urllib.request.urlopen(base_url + "/api/health", timeout=2) as answer:
        return bool(answer.status == 200)


@pytest.fixture
def stack(broker: LocalBroker, tmp_path: Path) -> Iterator[Stack]:
    """Simulated gateway `line1` and a bridge serving web/dist, on the test's broker."""
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail(f"{WEB_DIST} is not built: run `make setup` or `cd web && npm run build`")
    s = Stack(tmp_path, broker=broker, bridge_env={"FACTORY_WEB_DIST": str(WEB_DIST)})
    try:
        s.start()
        s.bridge.wait_until(lambda: _health_ok(s.base_url), what="/api/health answers 200")
        yield s
    finally:
        s.stop()
