"""setuptools build step: puts the built dashboard (web/dist) into the wheel as
``bridge/web_dist``, where the installed bridge serves it from by default.

Wired in pyproject.toml ([tool.setuptools.cmdclass]). ``make wheel`` builds web/dist first; a
wheel build without it stops with a message saying so, instead of shipping a bridge that
answers ``/`` with 503. Editable installs (``make setup``) serve web/dist from the checkout;
the sdist carries web/dist and this hook (MANIFEST.in), so a wheel built from it is the same.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools.command.build_py import build_py
from setuptools.errors import SetupError

REPO = Path(__file__).resolve().parents[1]
WEB_DIST = REPO / "web" / "dist"
PACKAGED = Path("bridge") / "web_dist"  # keep in step with bridge.settings.PACKAGED_WEB_DIST


class BuildPyWithDashboard(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        if not (WEB_DIST / "index.html").is_file():
            raise SetupError(
                f"{WEB_DIST}/index.html is missing: build the dashboard first "
                "(`make wheel`, or `cd web && npm ci && npm run build`)"
            )
        target = Path(self.build_lib) / PACKAGED
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(WEB_DIST, target)
