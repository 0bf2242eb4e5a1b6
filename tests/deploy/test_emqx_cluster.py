"""The EMQX cluster profile: `factory-broker emqx` and deploy/compose/emqx-cluster.yaml.

No EMQX runs here (it is not packaged for Debian nor on PyPI), so the ACL is checked the way
EMQX reads it: EMQX's file authorization source loads acl.conf with Erlang's `file:consult/1`
and compiles each term as a rule (emqx_authz_file.erl, EMQX 5). The test runs the same
`file:consult` in a real Erlang VM (Debian's erlang-base), checks every term has the shape
EMQX documents for a rule ({allow|deny, Who, Action, Topics}, then {deny, all}), and that the
rights it grants, login by login, are exactly the Mosquitto ACL's. What this does not prove:
that EMQX's matcher treats each filter as Mosquitto does (both follow MQTT's filter rules,
documented in docs/scale-out.md), nor that EMQX imports users.csv (its documented CSV header
is checked, not the import).
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.settings import BridgeSettings
from factory_broker.cli import main
from factory_broker.emqx import render_emqx_acl
from factory_broker.provision import load_plant, read_secrets
from factory_core.broker_admin import (
    Plant,
    RelayRef,
    Role,
    User,
    logins,
    password_env_var,
    render_acl,
)
from factory_core.settings import CommonSettings
from gateway.config import GatewayConfig

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "mosquitto" / "plant.example.toml"
CLUSTER = REPO / "deploy" / "compose"
COMPOSE_SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"

# Prints each rule of an acl.conf as EMQX would get it from file:consult/1, one per line:
# "allow <user> <action> <filter>" per topic, "deny all", or "BAD <term>" for anything a rule
# may not be. A file Erlang cannot read exits 3 with its error.
CONSULT = r"""
[Path] = init:get_plain_arguments(),
IsStr = fun(S) -> io_lib:printable_unicode_list(S) end,
Line = fun
    ({P, {username, U}, A, Ts}) when (P =:= allow orelse P =:= deny),
            (A =:= publish orelse A =:= subscribe orelse A =:= all), is_list(Ts) ->
        case IsStr(U) andalso Ts =/= [] andalso lists:all(IsStr, Ts) of
            true -> [io_lib:format("~s ~s ~s ~s~n", [P, U, A, T]) || T <- Ts];
            false -> io_lib:format("BAD ~p~n", [{P, U, A, Ts}])
        end;
    ({deny, all}) -> "deny all\n";
    (Other) -> io_lib:format("BAD ~p~n", [Other])
end,
case file:consult(Path) of
    {ok, Terms} -> io:put_chars([Line(T) || T <- Terms]), halt(0);
    {error, Reason} -> io:format("~p~n", [Reason]), halt(3)
end.
"""


def erl() -> str:
    found = shutil.which("erl")
    if found is None:
        pytest.fail("erl is not installed: make setup (devtools/system-deps.sh erlang-base)")
    return found


def consult(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [erl(), "-noshell", "-noinput", "-eval", CONSULT, "-extra", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def mosquitto_rights(acl: str) -> set[tuple[str, str, str]]:
    """(login, EMQX action, filter) for every rule of a Mosquitto ACL."""
    action = {"read": "subscribe", "write": "publish", "readwrite": "all"}
    rights: set[tuple[str, str, str]] = set()
    user = ""
    for line in acl.splitlines():
        if line.startswith("user "):
            user = line.removeprefix("user ")
        elif m := re.fullmatch(r"topic (\w+) (\S+)", line):
            rights.add((user, action[m[1]], m[2]))
    return rights


def test_erlang_reads_the_emqx_acl_as_exactly_the_mosquitto_rights(tmp_path: Path) -> None:
    # Every role: the example's gateways, bridge, reader and writer, and an admin.
    plant = load_plant(EXAMPLE).with_users(User("ops", Role.ADMIN))
    acl = tmp_path / "acl.conf"
    acl.write_text(render_emqx_acl(plant))

    read = consult(acl)

    assert read.returncode == 0, read.stdout + read.stderr
    lines = read.stdout.splitlines()
    assert [line for line in lines if line.startswith("BAD")] == []
    assert lines[-1] == "deny all", "everything no rule allows must be denied"
    assert all(line.startswith("allow ") for line in lines[:-1])
    granted = {tuple(line.split(" ")[1:]) for line in lines[:-1]}
    assert granted == mosquitto_rights(render_acl(plant))
    # Every login has rules, the samples logins their own (read-only) ones.
    assert {user for user, _, _ in granted} == {login.name for login in logins(plant)}
    assert {(a, f) for u, a, f in granted if u == "bridge-samples"} == {
        ("subscribe", "factory/+/devices/+/state"),
        ("subscribe", "factory/+/system"),
    }


def emqx_rights(acl: str) -> set[tuple[str, str, str]]:
    """(login, action, filter) of every allow rule, read with a regular expression."""
    pattern = r'\{allow, \{username, "([^"]+)"\}, (\w+), \["([^"]+)"\]\}\.'
    return {(m[1], m[2], m[3]) for m in re.finditer(pattern, acl)}


_ids = st.from_regex(r"[a-z0-9_-]{1,12}", fullmatch=True)


@st.composite
def plants(draw: st.DrawFn) -> Plant:
    gateways = draw(st.lists(_ids, min_size=1, max_size=4, unique=True))
    names = draw(
        st.lists(_ids, max_size=5, unique=True).filter(lambda n: not set(n) & set(gateways))
    )
    users = [User(g, Role.GATEWAY) for g in gateways]
    for name in names:
        role = draw(st.sampled_from([Role.BRIDGE, Role.READER, Role.WRITER, Role.ADMIN]))
        relays = (
            (RelayRef(draw(st.sampled_from(gateways)), draw(_ids)),) if role is Role.WRITER else ()
        )
        users.append(User(name, role, relays))
    prefix = draw(st.sampled_from(["factory", "plant-a/factory", "x"]))
    ha = draw(st.sampled_from(["homeassistant", ""]))
    return Plant(prefix, tuple(users), ha)


@settings(max_examples=100, deadline=None)
@given(plant=plants())
def test_any_plant_gets_the_same_rights_on_emqx_as_on_mosquitto(plant: Plant) -> None:
    try:
        Plant.with_users(plant)  # validates, as a plant description would be
    except ValueError:
        return  # e.g. a name clashing with a samples login: refused before any rendering
    acl = render_emqx_acl(plant)
    assert emqx_rights(acl) == mosquitto_rights(render_acl(plant))
    assert acl.rstrip().endswith("{deny, all}.")


def test_the_erlang_check_catches_a_broken_acl(tmp_path: Path) -> None:
    """The check above can fail: a rule missing its full stop, or of a shape EMQX refuses."""
    broken = tmp_path / "broken.conf"
    broken.write_text('{allow, {username, "line1"}, publish, ["factory/line1/#"]}\n')
    assert consult(broken).returncode == 3
    odd = tmp_path / "odd.conf"
    odd.write_text('{allow, {username, "line1"}, write, ["factory/line1/#"]}.\n{deny, all}.\n')
    assert consult(odd).stdout.startswith("BAD")


def test_emqx_command_writes_the_acl_and_the_users_every_login_with_its_password(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(password_env_var("line1"), "line1-secret")
    out, secrets = tmp_path / "auth", tmp_path / "secrets.env"
    args = ["emqx", "--plant", str(EXAMPLE), "--out", str(out), "--secrets", str(secrets)]

    assert main(args) == 0

    assert "acl.conf" in capsys.readouterr().out
    users = (out / "users.csv").read_text().splitlines()
    assert users[0] == "user_id,password,is_superuser"  # EMQX's documented bootstrap header
    rows = {row.split(",")[0]: row.split(",")[1:] for row in users[1:]}
    stored = read_secrets(secrets)
    assert rows["line1"] == ["line1-secret", "false"]
    assert rows["bridge"] == [stored[password_env_var("bridge")], "false"]
    assert rows["bridge-samples"] == rows["bridge"], "a samples login shares its bridge's password"
    assert set(rows) == {login.name for login in logins(load_plant(EXAMPLE))}
    assert stat.S_IMODE((out / "users.csv").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "acl.conf").stat().st_mode) == 0o644
    # A second run keeps every password (the secrets file), as `render` does.
    assert main(args) == 0
    assert (out / "users.csv").read_text().splitlines() == users


def test_a_password_the_csv_cannot_hold_is_refused_before_anything_is_written(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(password_env_var("historian"), "a,b")
    out = tmp_path / "auth"

    code = main(["emqx", "--plant", str(EXAMPLE), "--out", str(out)])

    assert code == 2
    assert "FACTORY_BROKER_PASSWORD_HISTORIAN" in capsys.readouterr().err
    assert not out.exists()


def compose_cluster() -> dict[str, object]:
    document = yaml.safe_load((CLUSTER / "emqx-cluster.yaml").read_text())
    assert isinstance(document, dict)
    return document


def test_the_cluster_profile_follows_the_compose_specification() -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    errors = [
        f"{e.json_path}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(compose_cluster())
    ]
    assert errors == []


def test_the_cluster_profile_runs_three_nodes_a_gateway_and_two_bridges_on_it() -> None:
    services = compose_cluster()["services"]
    assert isinstance(services, dict)
    nodes = {name: s for name, s in services.items() if name.startswith("emqx")}
    assert len(nodes) == 3
    names = {s["environment"]["EMQX_NODE__NAME"] for s in nodes.values()}
    seeds = re.search(r"static\.seeds = \[(.*)\]", (CLUSTER / "emqx" / "emqx.conf").read_text())
    assert seeds is not None and set(re.findall(r'"([^"]+)"', seeds[1])) == names
    for node in nodes.values():
        assert node["image"] == "emqx/emqx:5.8.9"  # the last Apache 2.0 line that clusters
        assert "./emqx/auth:/opt/emqx/etc/factory:ro" in node["volumes"]

    plant = tomllib.loads((CLUSTER / "plant-cluster.toml").read_text())
    hosts = {host for s in nodes.values() for host in s["networks"]["factory"]["aliases"]}
    clients = {name: s for name, s in services.items() if "FACTORY_MQTT_URL" in s["environment"]}
    assert sorted(clients) == ["bridge-a", "bridge-b", "gateway"]
    users, used_hosts = set(), set()
    for service in clients.values():
        url = re.fullmatch(
            r"mqtt://([^:]+):\$\{(\w+):\?[^}]+\}@([^:]+):1883",
            service["environment"]["FACTORY_MQTT_URL"],
        )
        assert url is not None
        user, var, host = url.groups()
        assert var == password_env_var(user)
        users.add(user)
        used_hosts.add(host)
    assert users == set(plant["gateways"]) | set(plant["users"])
    assert used_hosts <= hosts and len(used_hosts) == 3, "each client on another node"


def test_the_cluster_config_keeps_the_brokers_safeguards() -> None:
    conf = (CLUSTER / "emqx" / "emqx.conf").read_text()
    for setting in (
        "use_username_as_clientid = true",
        "no_match = deny",
        "max_packet_size = 256KB",
        "nodelay = true",
        'path = "/opt/emqx/etc/factory/acl.conf"',
        'bootstrap_file = "/opt/emqx/etc/factory/users.csv"',
        "storage_type = disc",
    ):
        assert setting in conf


def _env_names(model: type[object]) -> set[str]:
    prefix = getattr(model, "model_config", {}).get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in getattr(model, "model_fields", {})}


@pytest.mark.parametrize(
    ("service", "known"),
    [
        (
            "gateway",
            _env_names(GatewayConfig) | _env_names(CommonSettings) | {"FACTORY_LOG_FORMAT"},
        ),
        ("bridge-a", _env_names(BridgeSettings)),
        ("bridge-b", _env_names(BridgeSettings)),
    ],
)
def test_every_cluster_service_setting_is_one_its_program_reads(
    service: str, known: set[str]
) -> None:
    services = compose_cluster()["services"]
    assert isinstance(services, dict)
    unknown = set(services[service]["environment"]) - known
    assert not unknown, f"{service} does not read {sorted(unknown)}"
    # It starts once the node it uses answers.
    (node,) = services[service]["depends_on"]
    assert services[service]["depends_on"][node]["condition"] == "service_healthy"
    assert "healthcheck" in services[node]
