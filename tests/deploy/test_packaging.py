"""compose.yaml, the Dockerfile and the systemd units agree with the code and the docs.

No Docker engine runs on CI, so these read the files the way Docker would and check every
name they share with the code: services, ports, volumes, config paths, environment names.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.settings import BridgeSettings
from factory_core.settings import CommonSettings
from gateway.config import GatewayConfig

REPO = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
MOSQUITTO_CONF = (REPO / "mosquitto" / "mosquitto.conf").read_text()
DOCKERFILE = (REPO / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _env_names(model: type[Any]) -> set[str]:
    prefix = model.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in model.model_fields}


# What each program reads from its environment, derived from its settings models.
GATEWAY_ENV = _env_names(GatewayConfig) | _env_names(CommonSettings) | {"FACTORY_LOG_FORMAT"}
BRIDGE_ENV = _env_names(BridgeSettings)


def _conf(key: str) -> list[str]:
    return re.findall(rf"^{key}\s+(\S+)", MOSQUITTO_CONF, flags=re.M)


def _mounts(service: str) -> dict[str, str]:
    """container path -> host path or volume name"""
    out = {}
    for spec in SERVICES[service].get("volumes", []):
        source, target, *_ = spec.split(":")
        out[target] = source
    return out


def test_the_broker_is_the_official_image_with_our_config_at_its_documented_path() -> None:
    broker = SERVICES["mosquitto"]
    assert broker["image"] == "eclipse-mosquitto:2.0"
    mounts = _mounts("mosquitto")
    assert mounts["/mosquitto/config/mosquitto.conf"] == "./mosquitto/mosquitto.conf"
    assert (REPO / "mosquitto" / "mosquitto.conf").is_file()
    # The password file and ACL the config names live in the mounted auth folder.
    for path in _conf("password_file") + _conf("acl_file"):
        assert str(Path(path).parent) in mounts, f"{path} is not mounted"
    # Persistence goes to a named volume, so retained state survives a container restart.
    (location,) = _conf("persistence_location")
    data_source = mounts[location.rstrip("/")]
    assert data_source in COMPOSE["volumes"]


def test_the_published_ports_are_the_ones_the_programs_listen_on() -> None:
    listeners = _conf("listener")
    assert "1883" in listeners
    assert SERVICES["mosquitto"]["ports"] == ["127.0.0.1:1883:1883"]
    bridge_env = SERVICES["bridge"]["environment"]
    http_port = bridge_env["FACTORY_HTTP_PORT"]
    assert SERVICES["bridge"]["ports"] == [f"127.0.0.1:{http_port}:{http_port}"]
    assert f"EXPOSE {http_port}" in DOCKERFILE
    assert bridge_env["FACTORY_HTTP_HOST"] == "0.0.0.0"


def test_services_wait_for_a_healthy_broker_and_reach_it_by_name() -> None:
    assert "healthcheck" in SERVICES["mosquitto"]
    for name in ("gateway", "bridge"):
        service = SERVICES[name]
        assert service["depends_on"]["mosquitto"]["condition"] == "service_healthy"
        url = service["environment"]["FACTORY_MQTT_URL"]
        assert re.fullmatch(r"mqtt://[a-z0-9_-]+:\$\{[A-Z0-9_]+:\?[^}]+\}@mosquitto:1883", url)


@pytest.mark.parametrize(("service", "known"), [("gateway", GATEWAY_ENV), ("bridge", BRIDGE_ENV)])
def test_every_environment_name_is_one_the_program_reads(service: str, known: set[str]) -> None:
    unknown = set(SERVICES[service]["environment"]) - known
    assert not unknown, f"{service} does not read {sorted(unknown)}"


def test_compose_users_exist_in_the_compose_plant_description() -> None:
    plant = tomllib.loads((REPO / "deploy" / "compose" / "plant.toml").read_text())
    users = set(plant["gateways"]) | set(plant["users"])
    for service in ("gateway", "bridge"):
        url = SERVICES[service]["environment"]["FACTORY_MQTT_URL"]
        user = url.removeprefix("mqtt://").split(":")[0]
        assert user in users
        password_var = re.search(r"\$\{([A-Z0-9_]+)", url)
        assert password_var is not None
        assert password_var.group(1) == f"FACTORY_BROKER_PASSWORD_{user.upper()}"
    assert SERVICES["gateway"]["environment"]["FACTORY_GATEWAY_ID"] in plant["gateways"]


def test_dockerfile_builds_the_web_in_node_and_runs_on_slim_python() -> None:
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", DOCKERFILE, flags=re.M)
    assert stages[0][0].startswith("node:20") and stages[0][1] == "web"
    assert re.fullmatch(r"python:3\.1[1-9]-slim", stages[-1][0])
    assert "COPY --from=web /src/web/dist ./web/dist" in DOCKERFILE
    for source in re.findall(r"^COPY\s+(?!--)(\S+)", DOCKERFILE, flags=re.M):
        if source != "web/":
            assert (REPO / source).exists(), f"Dockerfile copies missing {source}"
    env_names = set(re.findall(r"\b(FACTORY_[A-Z_]+)=", DOCKERFILE))
    assert env_names <= BRIDGE_ENV | GATEWAY_ENV, env_names - (BRIDGE_ENV | GATEWAY_ENV)
    scripts = PYPROJECT["project"]["scripts"]
    cmd = re.search(r'^CMD \["([^"]+)"', DOCKERFILE, flags=re.M)
    assert cmd is not None and cmd.group(1) in scripts
    for service in ("gateway", "bridge"):
        assert SERVICES[service]["command"][0] in scripts


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", "web/node_modules", ".demo"} <= set(ignored)


@pytest.mark.parametrize("unit", ["factory-gateway.service", "factory-bridge.service"])
def test_systemd_units_run_our_console_scripts(unit: str) -> None:
    text = (REPO / "deploy" / "systemd" / unit).read_text()
    exec_start = re.search(r"^ExecStart=(\S+)", text, flags=re.M)
    assert exec_start is not None
    assert Path(exec_start.group(1)).name in PYPROJECT["project"]["scripts"]
    assert re.search(r"^Restart=on-failure", text, flags=re.M)
    assert re.search(r"^EnvironmentFile=", text, flags=re.M)
    env_names = set(re.findall(r"^Environment=(FACTORY_[A-Z_]+)=", text, flags=re.M))
    assert env_names <= BRIDGE_ENV | GATEWAY_ENV


def test_readme_says_how_to_run_the_containers() -> None:
    readme = (REPO / "README.md").read_text()
    assert "docker compose" in readme
    assert "factory-broker render" in readme
