"""Results of a run: rows, targets, the printed table and the JSON document (pure)."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench.stats import Summary, ratio

_OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Row:
    """One measured distribution: a case of a scenario."""

    case: str
    summary: Summary
    note: str = ""

    def as_dict(self, floor_ms: float | None) -> dict[str, Any]:
        return {
            "case": self.case,
            **self.summary.as_dict(),
            "p50_ratio": ratio(self.summary.p50, floor_ms),
            "p99_ratio": ratio(self.summary.p99, floor_ms),
            "note": self.note,
        }


@dataclass(frozen=True)
class Target:
    """A goal from the issue; recorded as met or missed, never asserted."""

    name: str
    value: float | None
    op: str
    limit: float
    unit: str

    @property
    def met(self) -> bool | None:
        return None if self.value is None else _OPS[self.op](self.value, self.limit)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "op": self.op,
            "limit": self.limit,
            "unit": self.unit,
            "met": self.met,
        }


@dataclass
class ScenarioResult:
    name: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    # Scenario-level figures (max sustained rate, memory per client, ...), all numbers.
    figures: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self, floor_ms: float | None) -> dict[str, Any]:
        return {
            "rows": [r.as_dict(floor_ms) for r in self.rows],
            "targets": [t.as_dict() for t in self.targets],
            "figures": self.figures,
            "details": self.details,
            "error": self.error,
        }


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def _grid(headers: list[str], lines: list[list[str]], left: int = 2) -> list[str]:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for line in lines:
        cells = [
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    return out


def render(results: list[ScenarioResult], floor_ms: float | None) -> str:
    """The table printed at the end of a run: latencies in ms, then targets and figures."""
    lines: list[list[str]] = []
    for res in results:
        if res.error is not None:
            lines.append([res.name, f"ERROR: {res.error.splitlines()[0][:80]}", *[""] * 8])
        for row in res.rows:
            s = row.summary
            lines.append(
                [
                    res.name,
                    row.case,
                    str(s.count),
                    _num(s.rate, 1),
                    _num(s.p50, 3),
                    _num(s.p90, 3),
                    _num(s.p99, 3),
                    _num(s.max, 3),
                    _num(ratio(s.p50, floor_ms), 1),
                    _num(ratio(s.p99, floor_ms), 1),
                ]
            )
    heads = ["scenario", "case", "n", "rate/s", "p50 ms", "p90 ms", "p99 ms", "max ms"]
    out = _grid([*heads, "p50/floor", "p99/floor"], lines) if lines else []
    notes = [[res.name, row.case, row.note] for res in results for row in res.rows if row.note]
    if notes:
        out += ["", *_grid(["scenario", "case", "note"], notes, left=3)]
    figures = [
        [res.name, name, _num(value)] for res in results for name, value in res.figures.items()
    ]
    if figures:
        out += ["", *_grid(["scenario", "figure", "value"], figures)]
    targets = [
        [
            res.name,
            t.name,
            f"{_num(t.value)} {t.unit}",
            f"{t.op} {_num(t.limit)} {t.unit}",
            {True: "met", False: "MISSED", None: "not measured"}[t.met],
        ]
        for res in results
        for t in res.targets
    ]
    if targets:
        out += ["", *_grid(["scenario", "target", "measured", "goal", "result"], targets)]
    return "\n".join(out)


def document(
    results: list[ScenarioResult],
    floor_ms: float | None,
    machine: dict[str, Any],
    config: dict[str, Any],
    started: str,
    elapsed_s: float,
) -> dict[str, Any]:
    return {
        "format": 1,
        "started": started,
        "elapsed_s": elapsed_s,
        "machine": machine,
        "config": config,
        "floor_ms": floor_ms,
        "scenarios": {res.name: res.as_dict(floor_ms) for res in results},
    }


def write(doc: dict[str, Any], out_dir: Path, stamp: str) -> Path:
    """bench/results/<stamp>.json and latest.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=2) + "\n"
    path = out_dir / f"{stamp}.json"
    path.write_text(text)
    (out_dir / "latest.json").write_text(text)
    return path
