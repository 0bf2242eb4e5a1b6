"""Writes the constraints file the container image installs with (Dockerfile): every package
that ``pip install '.[gateway,bridge]'`` needs, at the version pip resolves today.

    python -m buildtools.constraints deploy/constraints.txt     (make constraints)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXTRAS = "gateway,bridge"
PROJECT = "factory-iot"


def resolve() -> list[str]:
    """``name==version`` for each package pip would install, the project itself left out."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--dry-run",
                "--ignore-installed", "--report", str(report), f"{REPO}[{EXTRAS}]",
            ],
            check=True,
        )  # fmt: skip
        installs = json.loads(report.read_text())["install"]
    pins = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in installs
        if item["metadata"]["name"].lower() != PROJECT
    }
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m buildtools.constraints OUTPUT")
    header = f"# pip install -c this '.[{EXTRAS}]' (Dockerfile). Regenerate: make constraints\n"
    Path(sys.argv[1]).write_text(header + "\n".join(resolve()) + "\n")


if __name__ == "__main__":
    main()
