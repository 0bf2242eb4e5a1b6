"""The wheel as an operator installs it: built from the checkout (with the dashboard inside),
installed with its dependencies into a clean venv, ``factory-bridge`` then serves the
dashboard. The systemd units are verified by ``systemd-analyze verify`` against the programs
of that install.

Building and installing takes a while (pip's cache keeps it to seconds after the first run),
so it happens once per module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from devtools.local_broker import LocalBroker, free_port
from devtools.procs import ManagedProcess

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
SHIPPED_VENV_BIN = "/opt/factory-iot/venv/bin/"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _run(argv: list[str], cwd: Path) -> None:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean venv with the freshly built wheel installed, as `pip install <wheel>[...]`."""
    if not (REPO / "web" / "dist" / "index.html").is_file():
        pytest.fail("web/dist is not built: run `make setup` (the wheel carries the dashboard)")
    work = tmp_path_factory.mktemp("wheel")
    _run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(REPO)], work
    )
    (wheel,) = (work / "dist").glob("factory_iot-*.whl")
    # A venv without pip of its own (ensurepip alone takes ~20 s here); this interpreter's
    # pip installs into it, with the dependencies resolved afresh and fetched through pip's cache.
    _run([sys.executable, "-m", "venv", "--without-pip", str(work / "venv")], work)
    target = ["--python", str(work / "venv" / "bin" / "python")]
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", *target]
    _run([*pip, "install", "--quiet", f"{wheel}[gateway,bridge]"], work)
    return work / "venv"


def _clean_env(**extra: str) -> dict[str, str]:
    """No trace of the checkout: the installed package must stand on its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACTORY_", "PYTHON"))}
    return {**env, **extra}


def test_the_installed_bridge_serves_the_dashboard(
    venv: Path, broker: LocalBroker, tmp_path: Path
) -> None:
    port = free_port()
    bridge = ManagedProcess(
        "factory-bridge",
        [str(venv / "bin" / "factory-bridge")],
        tmp_path / "bridge.log",
        cwd=tmp_path,  # not the checkout, whose bridge/ would shadow the installed one
    )
    bridge.env = _clean_env(
        FACTORY_MQTT_URL=broker.url,
        FACTORY_HTTP_PORT=str(port),
        FACTORY_STATE_DIR=str(tmp_path / "state"),
    )
    bridge.start()
    try:
        url = f"http://127.0.0.1:{port}"
        bridge.wait_until(
            lambda: requests.get(url + "/api/health", timeout=2).ok,
            timeout=60,
            what="/api/health answers 200",
        )
        page = requests.get(url + "/", timeout=15)
        assert page.status_code == 200, page.text
        assert page.headers["Content-Type"].startswith("text/html")
        assets = re.findall(r'(?:src|href)="([^"]*assets/[^"]+\.(?:js|css))"', page.text)
        assert {Path(a).suffix for a in assets} == {".js", ".css"}, page.text
        for path in assets:
            asset = requests.get(urljoin(url + "/", path), timeout=15)
            assert asset.status_code == 200, path
            kind = "javascript" if path.endswith(".js") else "css"
            assert kind in asset.headers["Content-Type"], asset.headers
            assert len(asset.content) > 1000
    finally:
        bridge.stop()
    installed = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert (installed / "site-packages" / "bridge" / "web_dist" / "index.html").is_file()


@pytest.mark.parametrize("unit", ["factory-gateway.service", "factory-bridge.service"])
def test_systemd_analyze_verify_accepts_the_unit(venv: Path, tmp_path: Path, unit: str) -> None:
    """The unit as shipped, its /opt/factory-iot/venv pointed at the test's install."""
    analyze = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
    if not Path(analyze).is_file():
        pytest.fail("systemd-analyze is not installed (Debian package systemd)")
    text = (UNITS / unit).read_text()
    assert SHIPPED_VENV_BIN in text
    rendered = tmp_path / unit
    rendered.write_text(text.replace(SHIPPED_VENV_BIN, f"{venv}/bin/"))
    result = subprocess.run(
        [analyze, "verify", str(rendered)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # verify exits 0 on unknown keys and bad values too; it only prints them.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), (
        result.stdout + result.stderr
    )
