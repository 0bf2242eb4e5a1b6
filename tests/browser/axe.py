"""axe-core in the page under test: what it finds against WCAG 2.1 A and AA (and its best
practices), as lines a failing assertion can print. Every browser test of a new view scans it:
`assert axe_problems(page, "en light trend view") == []`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# Serious and critical fail; of the rest only a landmark without a name of its own (axe calls
# it moderate; a screen reader's landmark list is useless with ten "Relays").
ALSO_FAIL = {"landmark-unique"}


def axe_problems(page: Page, where: str) -> list[str]:
    """What axe-core finds on the page as it is now, one line per rule broken."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci in web/)")
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, { runOnly: { type: 'tag', values: tags } })", RULE_TAGS
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
