"""The benchmark's table, targets and CLI flags, without running anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.config import QUICK, SCENARIOS, from_args, parser
from bench.report import Row, ScenarioResult, Target, document, render, write
from bench.stats import summarize


def _result() -> ScenarioResult:
    res = ScenarioResult("sensor_push")
    res.rows.append(Row("10 clients", summarize([0.001, 0.002, 0.003], rate=100.0)))
    res.targets.append(Target("push p50", 2.0, "<=", 2, "ms"))
    res.targets.append(Target("push p99", 12.0, "<=", 10, "ms"))
    res.targets.append(Target("not run", None, "<=", 10, "ms"))
    res.figures["max_clients"] = 1200
    return res


def test_targets_are_recorded_as_met_missed_or_not_measured() -> None:
    met, missed, unknown = _result().targets
    assert (met.met, missed.met, unknown.met) == (True, False, None)


def test_table_shows_rows_ratios_figures_and_targets() -> None:
    text = render([_result(), ScenarioResult("relay", error="RuntimeError: boom")], 0.5)
    assert "10 clients" in text
    assert "4.0" in text  # p50 2 ms over a 0.5 ms floor
    assert "max_clients" in text
    assert "MISSED" in text
    assert "met" in text
    assert "not measured" in text
    assert "ERROR: RuntimeError: boom" in text


def test_json_goes_to_a_stamped_file_and_latest(tmp_path: Path) -> None:
    doc = document([_result()], 0.5, {"nproc": 2}, QUICK.as_dict(), "now", 1.0)
    path = write(doc, tmp_path, "20260101T000000Z")
    assert json.loads(path.read_text()) == json.loads((tmp_path / "latest.json").read_text())
    row = doc["scenarios"]["sensor_push"]["rows"][0]
    assert row["p50"] == pytest.approx(2.0)
    assert row["p50_ratio"] == pytest.approx(4.0)


def test_flags_override_the_quick_sizes() -> None:
    cfg = from_args(parser().parse_args(["--quick", "--clients", "1,2", "--scenarios", "relay"]))
    assert cfg.clients == (1, 2)
    assert cfg.scenarios == ("relay",)
    assert cfg.duration == QUICK.duration
    assert from_args(parser().parse_args([])).scenarios == SCENARIOS


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--scenarios", "raw_mqtt,warp"], "warp"),
        (["--clients", "1,x"], "'1,x'"),
        (["--rates", "0"], "'0'"),
        (["--duration", "-1"], "'-1'"),
    ],
)
def test_bad_flags_name_the_bad_value(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(argv)
    assert named in capsys.readouterr().err


def test_profile_summary_names_where_the_samples_went() -> None:
    from bench.profile import top_frames

    text = top_frames("main;emit;encode 30\nmain;read 10\nnot a stack line\n")
    assert text.startswith("40 samples")
    assert "own   75.0%  encode" in text
    assert "incl 100.0%  main" in text
    assert top_frames("") == "no samples\n"
