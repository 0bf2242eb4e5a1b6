"""Fixtures of the fault tests: a fresh rig (broker, gateway, bridge, proxies) per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faults_helpers import Rig, start_rig


@pytest.fixture
def rig_factory(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    """``rig_factory(gateway_env={...}, bridge_env={...}, gateway_toml="...")``; everything
    stopped by pid after."""
    started: list[Rig] = []

    def make(**kwargs: Any) -> Rig:
        rig = start_rig(tmp_path / f"rig{len(started)}", **kwargs)
        started.append(rig)
        return rig

    yield make
    for rig in started:
        rig.stop()


@pytest.fixture
def rig(rig_factory: Callable[..., Rig]) -> Rig:
    return rig_factory()
