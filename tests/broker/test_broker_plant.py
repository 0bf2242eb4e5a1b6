"""The plant description: validation (pure), the ACL it renders (pure), and the
`factory-broker render` command writing a password file that Mosquitto accepts."""

from __future__ import annotations

import ast
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factory_broker.cli import main
from factory_broker.provision import read_secrets
from factory_core.broker_admin import (
    PlantError,
    Role,
    logins,
    parse_plant,
    password_env_var,
    render_acl,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "mosquitto" / "plant.example.toml"

PLANT_TOML = """
prefix = "acme/plant-a"
gateways = ["line1", "line2"]

[users.bridge]
role = "bridge"

[users.historian]
role = "reader"

[users.scada]
role = "writer"
relays = ["line1/relay_1"]
"""


def acl_blocks(text: str) -> dict[str, list[str]]:
    """user -> its topic lines, as Mosquitto reads the file."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("user "):
            current = blocks.setdefault(line.removeprefix("user "), [])
        elif line.startswith("topic "):
            assert current is not None, f"rule outside a user block: {line}"
            current.append(line.removeprefix("topic "))
        elif line.startswith("pattern"):
            pytest.fail(f"pattern rules apply to every user: {line}")
    return blocks


def test_each_role_gets_exactly_its_topics() -> None:
    acl = acl_blocks(render_acl(parse_plant(tomllib.loads(PLANT_TOML))))
    p = "acme/plant-a"
    assert acl["line1"] == [
        f"write {p}/line1/#",
        f"read {p}/line1/relays/+/set",
        f"read {p}/line1/relays/+/lock",
        f"read {p}/line1/all_to_safe",
        f"read {p}/line1/alarms/+/+/set",
        f"read {p}/line1/alarms/+/+/state",  # its own retained alarms, to clear removed ones
        f"read {p}/rebirth",
        "readwrite homeassistant/+/factory_line1/+/config",
        "read homeassistant/status",
    ]
    assert acl["line2"][0] == f"write {p}/line2/#"
    no_ha = parse_plant({**tomllib.loads(PLANT_TOML), "home_assistant_prefix": ""})
    assert not any("homeassistant" in rule for rule in acl_blocks(render_acl(no_ha))["line1"])
    assert acl["bridge"] == [
        f"read {p}/#",
        f"write {p}/+/relays/+/set",
        f"write {p}/+/relays/+/lock",  # locks and all to safe: bridges only
        f"write {p}/+/all_to_safe",
        f"write {p}/+/alarms/+/+/set",
        f"write {p}/+/gateway_alarms/+/ack",
        f"write {p}/+/service/+",
        f"write {p}/rebirth",
    ]
    assert acl["bridge-samples"] == [f"read {p}/+/devices/+/state", f"read {p}/+/system"]
    telemetry = [
        f"read {p}/+/{tail}"
        for tail in (
            "status",
            "meta",
            "devices/+/state",
            "relays/+/state",
            "relays/+/result",
            "all_to_safe/result",
            "system",
            "alarms/+/+/state",
            "alarms/+/+/result",
            "gateway_alarms/+/ack",
            "service/+",
            "late_samples",
        )
    ]  # fmt: skip  (a plant system reads the alarms and late samples as every bridge does)
    telemetry.append(f"read {p}/$edges/+/link")  # which edge brokers' links are up
    assert acl["historian"] == telemetry
    assert acl["scada"] == [*telemetry, f"write {p}/line1/relays/relay_1/set"]
    assert all(not rule.startswith(("write", "readwrite")) for rule in acl["historian"])
    assert list(acl) == ["line1", "line2", "bridge", "bridge-samples", "historian", "scada"]


def test_each_bridge_and_admin_gets_a_samples_login_sharing_its_password() -> None:
    plant = parse_plant(
        {"users": {"bridge-a": {"role": "bridge"}, "bridge-b": {"role": "bridge"},
                   "ops": {"role": "admin"}, "historian": {"role": "reader"}}}
    )  # fmt: skip
    assert [(login.name, login.user.name) for login in logins(plant)] == [
        ("bridge-a", "bridge-a"), ("bridge-a-samples", "bridge-a"),
        ("bridge-b", "bridge-b"), ("bridge-b-samples", "bridge-b"),
        ("ops", "ops"), ("ops-samples", "ops"),
        ("historian", "historian"),
    ]  # fmt: skip


def test_a_user_named_like_a_samples_login_is_refused() -> None:
    data = {
        "gateways": ["bridge-samples"],
        "users": {"bridge": {"role": "bridge"}, "ops": {"role": "admin"},
                  "ops-samples": {"role": "reader"}, "b" * 60: {"role": "bridge"}},
    }  # fmt: skip
    with pytest.raises(PlantError) as caught:
        parse_plant(data)
    assert caught.value.problems == [
        f"users.{'b' * 60}: {'b' * 60!r} is too long for a bridge: at most 56 characters, "
        f"because its samples connection logs in as {'b' * 60 + '-samples'!r}",
        "gateways: 'bridge-samples': the name 'bridge-samples' is the login of 'bridge''s "
        "samples connection (every bridge has one); choose another name",
        "users.ops-samples: the name 'ops-samples' is the login of 'ops''s samples connection "
        "(every admin has one); choose another name",
    ]


def test_the_shipped_broker_config_binds_client_ids_to_users() -> None:
    conf = (REPO / "mosquitto" / "mosquitto.conf").read_text().splitlines()
    assert "use_username_as_clientid true" in conf
    assert "per_listener_settings false" in conf, "the binding must hold on every listener"


def test_the_shared_core_does_no_provisioning_io() -> None:
    """What ships to every gateway holds the plant model and ACL only: no command line, no
    subprocess, no files (Architecture 4)."""
    tree = ast.parse((REPO / "factory_core" / "broker_admin.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}  # fmt: skip
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom)}  # fmt: skip
    io = {"argparse", "subprocess", "shutil", "tempfile", "os", "sys", "secrets", "tomllib",
          "pathlib"}  # fmt: skip
    assert imported & io == set()


def test_the_shipped_example_is_valid() -> None:
    plant = parse_plant(tomllib.loads(EXAMPLE.read_text()))
    assert {u.role for u in plant.users} == {Role.GATEWAY, Role.BRIDGE, Role.READER, Role.WRITER}


def test_every_problem_is_reported_at_once_naming_key_and_value() -> None:
    bad = """
prefix = "fac tory"
gateways = ["line1", "Line 2", "line1"]
colour = "red"

[users.line1]
role = "reader"

[users.boss]
role = "superuser"

[users.scada]
role = "writer"
relays = ["line9/relay_1", "line1-relay_2"]

[users."bad user"]
role = "reader"

[users.viewer]
role = "reader"
relays = ["line1/relay_1"]
"""
    with pytest.raises(PlantError) as caught:
        parse_plant(tomllib.loads(bad))
    text = "\n".join(caught.value.problems)
    for expected in (
        "colour: unknown key",
        "prefix: topic prefix 'fac tory' is invalid",
        "gateways[1]: 'Line 2' is not a gateway id",
        "duplicate user 'line1' (already a gateway)",
        "users.line1: duplicate user 'line1'",
        "users.boss.role: unknown role 'superuser'",
        "users.scada.relays[0]: 'line9/relay_1' names gateway 'line9'",
        "users.scada.relays[1]: 'line1-relay_2' is not 'gateway/relay'",
        "users.bad user: 'bad user' is not a valid user name",
        "users.viewer.relays: only a writer lists relays",
    ):
        assert expected in text, f"missing {expected!r} in:\n{text}"
    assert len(caught.value.problems) == 10


def test_users_sharing_a_password_variable_are_refused() -> None:
    data = {"gateways": ["line-1"], "users": {"LINE_1": {"role": "reader"}}}
    with pytest.raises(PlantError, match="FACTORY_BROKER_PASSWORD_LINE_1"):
        parse_plant(data)


def test_a_writer_without_relays_is_refused() -> None:
    with pytest.raises(PlantError, match=r"users.scada.relays: a writer needs"):
        parse_plant({"gateways": ["line1"], "users": {"scada": {"role": "writer"}}})


def _write_plant(tmp_path: Path) -> Path:
    path = tmp_path / "plant.toml"
    path.write_text(PLANT_TOML)
    return path


def test_render_exits_2_on_an_invalid_plant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plant.toml"
    path.write_text('gateways = ["Line 1"]\n[users.x]\nrole = "root"\n')
    assert main(["render", "--plant", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "gateways[0]: 'Line 1'" in err and "users.x.role: unknown role 'root'" in err
    assert not (tmp_path / "out").exists(), "nothing is written from an invalid description"


def test_render_exits_2_on_broken_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plant.toml"
    path.write_text("gateways = [\n")
    assert main(["render", "--plant", str(path), "--out", str(tmp_path)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_render_takes_passwords_from_env_and_stores_generated_ones_privately(
    tmp_path: Path,
) -> None:
    out, secrets = tmp_path / "auth", tmp_path / "secrets.env"
    env = {**os.environ, password_env_var("line1"): "line1-secret"}
    plant = _write_plant(tmp_path)
    command = [sys.executable, "-m", "factory_broker", "render",
               "--plant", str(plant), "--out", str(out), "--secrets", str(secrets)]  # fmt: skip
    first = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert "line1-secret" not in first.stdout
    stored = read_secrets(secrets)
    assert password_env_var("line1") not in stored, "passwords from the environment stay there"
    assert set(stored) == {password_env_var(u) for u in ("line2", "bridge", "historian", "scada")}
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "passwd").stat().st_mode) == 0o600

    passwd = (out / "passwd").read_text()
    assert "line1-secret" not in passwd and stored[password_env_var("bridge")] not in passwd
    assert [line.split(":")[0] for line in passwd.splitlines()] == [
        "line1", "line2", "bridge", "bridge-samples", "historian", "scada"
    ]  # fmt: skip
    assert all(line.split(":")[1].startswith("$7$") for line in passwd.splitlines())

    subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert read_secrets(secrets) == stored, "a second run keeps everyone's password"


def test_render_without_a_secrets_file_prints_generated_passwords_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plant = _write_plant(tmp_path)
    assert main(["render", "--plant", str(plant), "--out", str(tmp_path / "auth")]) == 0
    printed = capsys.readouterr().out
    assert f"{password_env_var('historian')}=" in printed
    assert (tmp_path / "auth" / "acl").read_text() == render_acl(
        parse_plant(tomllib.loads(PLANT_TOML))
    )


def test_a_password_mosquitto_cannot_store_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(password_env_var("bridge"), "pass:word")
    assert main(["render", "--plant", str(_write_plant(tmp_path)), "--out", str(tmp_path)]) == 2
    assert "FACTORY_BROKER_PASSWORD_BRIDGE" in capsys.readouterr().err


_flat = st.none() | st.booleans() | st.integers() | st.text(max_size=10)
_users = st.dictionaries(
    st.text(max_size=8),
    st.dictionaries(st.sampled_from(["role", "relays", "x"]), _flat | st.lists(_flat, max_size=3)),
    max_size=3,
)
_plants = st.fixed_dictionaries(
    {},
    optional={
        "prefix": _flat,
        "gateways": st.lists(_flat, max_size=3) | _flat,
        "users": _users | _flat,
        "home_assistant_prefix": _flat,
        "colour": _flat,
    },
)


@pytest.mark.fuzz
@settings(max_examples=10_000, deadline=None)
@given(data=_plants)
def test_fuzz_the_plant_parser(data: dict[str, object]) -> None:
    """10,000 generated plant descriptions: a valid plant or a PlantError, nothing else."""
    try:
        plant = parse_plant(data)
    except PlantError as exc:
        assert exc.problems
    else:
        assert render_acl(plant).startswith("# Generated")
