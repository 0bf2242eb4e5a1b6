"""Configuration: the shipped examples load, and bad config reports every problem at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from gw_helpers import board
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import DEMO_CONFIG, EXAMPLES, ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]


def test_demo_board_has_the_fixed_ids() -> None:
    config = load_config(DEMO_CONFIG)
    assert config.gateway_id == "line1"
    assert config.hardware.backend == "simulated"
    assert [(r.id, r.name) for r in config.relays] == [
        ("relay_1", "Conveyor motor"),
        ("relay_2", "Coolant pump"),
        ("relay_3", "Warning light"),
        ("relay_4", "Exhaust fan"),
        ("relay_5", "Oven heater"),
    ]
    assert [r.id for r in config.relays if r.confirm] == ["relay_5"]
    assert [(i.kind, i.relay, i.other) for i in config.interlocks] == [
        ("requires", "relay_5", "relay_4")
    ]
    devices = {s.id: (s.kind, s.unit) for s in config.sensors}
    assert devices == {
        "temperature": ("temperature", "°C"),
        "humidity": ("humidity", "%"),
        "vibration": ("vibration", "mm/s"),
        "pressure": ("pressure", "bar"),
    }
    assert [(i.id, i.kind) for i in config.inputs] == [("machine_running", "digital_input")]


def test_pi_example_is_valid() -> None:
    config = load_config(EXAMPLES / "pi.toml")
    assert config.hardware.backend == "rpi_gpio"
    assert {s.type for s in config.sensors} == {"ds18b20", "cpu_temp"}


def test_examples_document_discovery_and_metrics_but_leave_them_off() -> None:
    for name in ("demo.toml", "pi.toml", "bench.toml"):
        config = load_config(EXAMPLES / name)
        assert config.home_assistant.enabled is False, name
        assert config.metrics_port == 0, name
    bench = load_config(EXAMPLES / "bench.toml")
    updates_per_s = sum(1 / s.interval_s for s in bench.sensors)
    assert updates_per_s == pytest.approx(50)


def test_discovery_and_metrics_settings_are_validated(tmp_path: Path) -> None:
    bad = board(
        tmp_path,
        metrics_port=70000,
        home_assistant={"enabled": "maybe", "discovery_prefix": "home/#", "colour": 1},
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(bad)
    text = "\n".join(caught.value.problems)
    assert "metrics_port" in text and "70000" in text
    assert "home_assistant.enabled" in text and "'maybe'" in text
    assert "home_assistant.discovery_prefix" in text and "'home/#'" in text
    assert "home_assistant.colour" in text


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FACTORY_GATEWAY_ID", "line7")
    monkeypatch.setenv("FACTORY_LINK_LOSS_TIMEOUT_S", "5")
    monkeypatch.setenv("FACTORY_HTTP_PORT", "5000")  # the bridge's: not ours, ignored
    config = parse_config(board(tmp_path))
    assert (config.gateway_id, config.link_loss_timeout_s) == ("line7", 5.0)


BAD = """
gateway_id = "Line 1!"
mqtt_url = "mqtt://gw:secret@broker:1883"
system_interval_s = -1
colour = "blue"

[hardware]
backend = "arduino"

[[relays]]
id = "relay_1"
name = "Motor"
pin = 5

[[relays]]
id = "relay_1"
name = "Pump"
pin = 5
safe_state = "maybe"

[[inputs]]
id = "door"
name = "Door"
pin = 5
pull = "sideways"

[[sensors]]
type = "ds18b20"
id = "oven temp"
name = "Oven"
interval_s = 0
"""

EXPECTED = [
    "gateway_id: String should match pattern",
    "'Line 1!'",
    "mqtt_url: a password does not belong in the file",
    "system_interval_s: Input should be greater than 0 (got -1)",
    "colour: Extra inputs are not permitted (got 'blue')",
    "hardware.backend: Input should be 'rpi_gpio' or 'simulated' (got 'arduino')",
    "relays[1].safe_state: Input should be a valid boolean",
    "inputs[0].pull: Input should be 'up', 'down' or 'off' (got 'sideways')",
    "sensors[0].ds18b20.id: String should match pattern",
    "sensors[0].ds18b20.interval_s: Input should be greater than 0 (got 0)",
    "relays[0].pin: duplicate pin 5",
    "inputs[0].pin: duplicate pin 5",
    "relays[1].id: duplicate relay id 'relay_1'",
]


def test_every_config_error_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = "\n".join(caught.value.problems)
    for fragment in EXPECTED:
        assert fragment in text


def test_cli_exits_2_listing_every_error_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    run = subprocess.run(
        [sys.executable, "-m", "gateway", "--config", str(path)],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert f"configuration errors in {path}" in run.stderr
    for fragment in EXPECTED:
        assert fragment in run.stderr
    assert "secret" not in run.stderr + run.stdout


def test_unreadable_and_malformed_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("gateway_id = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


_keys = st.sampled_from(
    ["gateway_id", "name", "hardware", "relays", "inputs", "sensors", "clock_skew_s", "x"]
)
_flat = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
_configs = st.dictionaries(
    _keys, _flat | st.lists(st.dictionaries(st.text(max_size=6), _flat, max_size=3), max_size=2)
)


# 10,000 configurations took over 120 s (the suite's default timeout) on the shared, busy 2-core
# box (measured twice). CPU time, not a wait: a slow run is not a failure.
@pytest.mark.timeout(600)
@pytest.mark.fuzz
@settings(max_examples=10_000, deadline=None)
@given(data=_configs)
def test_fuzz_the_config_parser(data: dict[str, object]) -> None:
    """10,000 generated configurations: a valid config or a ConfigError, nothing else."""
    try:
        parse_config({"hardware": {"backend": "simulated"}, **data})
    except ConfigError as exc:
        assert str(exc)


def test_store_and_forward_limits_are_validated_with_every_other_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'gateway_id = "Line 1"\n[hardware]\nbackend = "simulated"\n'
        "[store_forward]\nmax_samples = -5\nmax_bytes = 0\nmax_age_s = 0\n"
        'batch_size = 501\nbatch_interval_s = "soon"\nretries = 3\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = "\n".join(caught.value.problems)
    for fragment in (
        "gateway_id: String should match pattern",
        "store_forward.max_samples: Input should be greater than 0 (got -5)",
        "store_forward.max_bytes: Input should be greater than 0 (got 0)",
        "store_forward.max_age_s: Input should be greater than 0 (got 0)",
        "store_forward.batch_size: Input should be less than or equal to 500 (got 501)",
        "store_forward.batch_interval_s: Input should be a valid number",
        "store_forward.retries",
    ):
        assert fragment in text, text


def test_the_edge_of_store_and_forward_is_validated_with_every_other_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'gateway_id = "Line 1"\n[hardware]\nbackend = "simulated"\n'
        '[store_forward]\nenabled = false\nedge = "Hall A"\nedge_lookback_s = 0\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = "\n".join(caught.value.problems)
    for fragment in (
        "gateway_id: String should match pattern",
        "store_forward.edge: String should match pattern '^[a-z0-9_-]{1,64}$' (got 'Hall A')",
        "store_forward.edge_lookback_s: Input should be greater than 0 (got 0)",
        "store_forward.edge: 'Hall A' is followed to keep samples while its link is down, but "
        "store and forward is off (enabled = false)",
    ):
        assert fragment in text, text


def test_a_gateway_behind_an_edge_names_it() -> None:
    config = parse_config(
        {"hardware": {"backend": "simulated"}, "store_forward": {"edge": "hall-a"}}
    )
    assert config.store_forward.edge == "hall-a"
    assert config.store_forward.edge_lookback_s == 600.0
    assert parse_config({"hardware": {"backend": "simulated"}}).store_forward.edge is None
