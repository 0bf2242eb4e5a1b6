"""Scenario ``plant_screen`` (Trends 3): a whole plant in Debian's Chromium.

A bridge serving the built dashboard, fed by the plant simulator (devtools/plant_sim.py) with
``plant_gateways`` x ``plant_devices`` devices (+ ``plant_relays`` relays each) at
``plant_rate`` readings/s. Measured: login to first full render (in the page's own clock),
the main thread's busy share while updates flow (Chromium's TaskDuration over wall time,
CDP ``Performance.getMetrics``), the ``state`` payload, the bridge's memory per device, and
whether the page shows every device's latest value once the load stops (nothing lost), and
the time between animation frames while the updates flow (its row).

The plant has a broker of its own, clean and on the plant's default topic prefix: the bench's
shared broker holds what earlier scenarios retained, and its ACL gives the bridge's samples
connection the default prefix only (with another prefix no reading reached the bridge, and
the page was measured with nothing flowing). The first render is split into its steps (login
answered, Socket.IO connected, ``state`` arrived, drawn), each in the page's clock from the
click, so that a miss says where the time went; a page that never gets there is reported with
what it showed instead of a bare timeout.
"""

from __future__ import annotations

import json
import time
import urllib.request
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.lab import rss
from bench.report import Row, ScenarioResult, Target
from bench.stats import summarize
from devtools.local_broker import LocalBroker
from devtools.procs import ManagedProcess, python_module
from devtools.stack import Stack

REPO = Path(__file__).resolve().parents[1]
WEB_DIST = REPO / "web" / "dist"
RENDER_TIMEOUT_MS = 120_000
# After the load stops, how long the page may take to show every latest value.
SETTLE_S = 15.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

# Resolves with the page's clock once the whole plant is on screen: the count of everything
# and the first gateway's cards, each with a value.
_FULL_RENDER = """([gateways, devices]) => {
  const count = document.querySelector('[data-testid="plant-count"]');
  const all = `${gateways} gateways, ${devices} devices`;
  if (!count || !count.textContent.startsWith(all)) return false;
  const first = document.querySelector('section.gateway');
  const values = first ? first.querySelectorAll('article [data-testid="value"]') : [];
  if (values.length === 0 || [...values].some((v) => v.textContent === '')) return false;
  return performance.now();
}"""

# Marks the steps from the login to the first state in the page's clock: the form submitted
# (the click as the page gets it; Playwright's own actionability checks come before), the
# login's answer, Socket.IO's connect (packet "40") and the `state` event (`42["state"`).
_MARK_STEPS = """(() => {
  const marks = (window.__marks = {});
  const mark = (name) => { if (!(name in marks)) marks[name] = performance.now(); };
  document.addEventListener('submit', () => mark('submitted'), true);
  const fetchOf = window.fetch;
  window.fetch = async (...args) => {
    const answer = await fetchOf(...args);
    if (String(args[0]).endsWith('/api/auth/login')) mark('login_answered');
    return answer;
  };
  const Socket = window.WebSocket;
  window.WebSocket = class extends Socket {
    constructor(...args) {
      super(...args);
      const watch = (e) => {
        if (typeof e.data !== 'string') return;
        if (e.data.startsWith('40')) mark('socket_connected');
        if (e.data.startsWith('42["state"')) {
          mark('state_arrived');
          this.removeEventListener('message', watch);
        }
      };
      this.addEventListener('message', watch);
    }
  };
})()"""

# What the page shows when the full render does not come: for the error message.
_SHOWING = """() => ({
  count: document.querySelector('[data-testid="plant-count"]')?.textContent ?? null,
  placeholder: document.querySelector('[data-testid="placeholder"]')?.textContent ?? null,
  gateways: document.querySelectorAll('section.gateway').length,
  cards: document.querySelectorAll('article[data-testid]').length,
  marks: window.__marks ?? {},
})"""

# Records the time between animation frames: a long one is a frame the page dropped.
_COUNT_FRAMES = """() => {
  window.__frames = [];
  let last = performance.now();
  const tick = (now) => {
    window.__frames.push(now - last);
    last = now;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""

# Every value the page shows now, by card test id.
_SHOWN = """() => Object.fromEntries([...document.querySelectorAll('article[data-testid]')]
  .map((a) => [a.dataset.testid, a.querySelector('[data-testid="value"]').textContent]))"""


def shown_value(value: object) -> str:
    """The dashboard's formatValue (web/src/format.ts) in English, for comparing what it shows."""
    if isinstance(value, bool):
        return "On" if value else "Off"
    if not isinstance(value, int | float):
        return "—"
    digits = 0 if abs(value) >= 1000 else 1 if abs(value) >= 10 else 2
    # Chromium's Intl.NumberFormat (ICU) rounds the shortest decimal that reads back as the
    # double (Python's repr), a tie away from zero; format() would round the binary value.
    exact = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{exact:.{digits}f}"


def _get(stack: Stack, path: str) -> bytes:
    request = urllib.request.Request(stack.base_url + path, headers=stack.auth_header)
    with urllib.request.urlopen(request, timeout=60) as answer:
        body: bytes = answer.read()
    return body


# Chromium's main-thread time, by what it was spent on (CDP Performance.getMetrics, seconds).
_BUSY = {
    "main_thread_busy_pct": "TaskDuration",
    "script_pct": "ScriptDuration",
    "layout_pct": "LayoutDuration",
    "style_pct": "RecalcStyleDuration",
}


def _busy_seconds(cdp: Any) -> dict[str, float]:
    metrics = {m["name"]: float(m["value"]) for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {figure: metrics[name] for figure, name in _BUSY.items()}


def _log_in(page: Page, stack: Stack) -> float:
    """Fills the login form and returns the page's clock at the click."""
    page.goto(stack.base_url + "/")
    user, password = stack.operator_credentials
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    started: float = page.evaluate("performance.now()")
    page.get_by_role("button", name="Log in").click()
    return started


def _render_error(page: Page, started: float) -> str:
    showing = page.evaluate(_SHOWING)
    marks = {k: round(v - started) for k, v in showing.pop("marks").items()}  # from the click
    return (
        f"no full render within {RENDER_TIMEOUT_MS / 1000:.0f} s of the login click; the page "
        f"showed {showing}, steps (ms after the click): {marks or 'none'}"
    )


def _settled(page: Page, stack: Stack) -> tuple[int, int]:
    """Compares what the page shows with the bridge's latest until they agree or SETTLE_S
    passes (the last updates may still be on their way); the last comparison."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        wrong, compared = _lost(page, stack)
        if wrong == 0 or time.monotonic() > deadline:
            if wrong:
                _lost(page, stack, report=True)
            return wrong, compared
        page.wait_for_timeout(500)


def _lost(page: Page, stack: Stack, report: bool = False) -> tuple[int, int]:
    """Cards drawn now whose value is not the bridge's latest (and how many were compared)."""
    latest = json.loads(_get(stack, "/api/state"))["devices"]
    shown: dict[str, str] = page.evaluate(_SHOWN)
    wrong = [
        f"{test_id}: {text} shown, {latest[key]['value']} latest"
        for test_id, text in shown.items()
        if (key := test_id.removeprefix("device-").replace("-", "/", 1)) in latest
        and text != shown_value(latest[key]["value"])
    ]
    if wrong and report:
        print("[bench] plant_screen: not the latest:", *wrong[:5], sep="\n  ", flush=True)
    return len(wrong), len(shown)


def plant_screen(
    workdir: Path,
    bridge_env: dict[str, str],
    gateways: int,
    devices: int,
    relays: int,
    rate: float,
    duration: float,
) -> ScenarioResult:
    res = ScenarioResult("plant_screen")
    res.details = {"gateways": gateways, "devices": gateways * devices, "relays": gateways * relays}
    res.figures["updates_per_s"] = rate
    try:
        with LocalBroker(workdir / "plant_screen" / "broker") as broker:
            _measure(res, workdir, broker, bridge_env, gateways, devices, relays, rate, duration)
    finally:
        # With what was measured, also when a step failed (res.error or the exception says which).
        res.targets = [
            Target("first full render", res.figures.get("first_full_render_ms"), "<=", 1000, "ms"),
            Target("main thread busy", res.figures.get("main_thread_busy_pct"), "<=", 25, "%"),
            Target("values not the latest", res.figures.get("values_not_latest"), "<=", 0, ""),
        ]
    return res


def _measure(
    res: ScenarioResult,
    workdir: Path,
    broker: LocalBroker,
    bridge_env: dict[str, str],
    gateways: int,
    devices: int,
    relays: int,
    rate: float,
    duration: float,
) -> None:
    total = gateways * devices
    env = {**bridge_env, "FACTORY_WEB_DIST": str(WEB_DIST)}
    stack = Stack(workdir / "plant_screen", broker=broker, bridge_env=env)
    sim = ManagedProcess(
        "plant_sim",
        python_module(
            "devtools.plant_sim",
            *("--mqtt-url", broker.url, "--gateways", str(gateways), "--devices", str(devices)),
            *("--relays", str(relays), "--rate", str(rate)),
        ),
        workdir / "plant_screen" / "plant_sim.log",
    )
    try:
        stack.bridge.start()
        stack.bridge.wait_until(lambda: bool(_get(stack, "/api/health")), what="health")
        empty_rss = rss(stack.bridge.pid)
        sim.start()
        stack.bridge.wait_until(
            lambda: len(json.loads(_get(stack, "/api/state"))["devices"]) == total,
            timeout=180,
            what=f"{total} devices in the bridge",
        )
        state = _get(stack, "/api/state")
        res.figures["state_payload_kb"] = round(len(state) / 1024, 1)
        res.figures["bridge_rss_per_device_kb"] = round(
            (rss(stack.bridge.pid) - empty_rss) / total / 1024, 2
        )
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.add_init_script(_MARK_STEPS)
            started = _log_in(page, stack)
            try:
                done = page.wait_for_function(
                    _FULL_RENDER, arg=[gateways, total], polling="raf", timeout=RENDER_TIMEOUT_MS
                )
            except PlaywrightTimeout:
                res.error = _render_error(page, started)
                page.screenshot(path=str(workdir / "plant_screen" / "no_full_render.png"))
                browser.close()
                return
            marks: dict[str, float] = page.evaluate("window.__marks")
            # From the login as the page gets it; the test harness's click before it is apart.
            login = marks.pop("submitted", started)
            res.figures["harness_click_ms"] = round(login - started, 1)
            res.figures["first_full_render_ms"] = round(float(done.json_value()) - login, 1)
            for step, at in marks.items():
                res.figures[f"{step}_ms"] = round(at - login, 1)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.evaluate(_COUNT_FRAMES)
            busy_before, wall_before = _busy_seconds(cdp), time.monotonic()
            time.sleep(duration)
            busy_after, wall = _busy_seconds(cdp), time.monotonic() - wall_before
            for figure, seconds in busy_after.items():
                res.figures[figure] = round(100 * (seconds - busy_before[figure]) / wall, 1)
            frames: list[float] = page.evaluate("window.__frames")
            res.rows.append(
                Row("frame interval while updates flow", summarize(f / 1000 for f in frames))
            )
            sim.stop()  # the load stops; every value on screen must now be the latest
            wrong, compared = _settled(page, stack)
            page.get_by_test_id(f"gateway-gw{gateways - 1:03d}").scroll_into_view_if_needed()
            page.wait_for_selector(f'[data-testid="device-gw{gateways - 1:03d}-dev00"]')
            wrong_last, compared_last = _settled(page, stack)
            res.figures["values_not_latest"] = wrong + wrong_last
            res.figures["values_compared"] = compared + compared_last
            browser.close()
    finally:
        sim.stop()
        stack.bridge.stop()
