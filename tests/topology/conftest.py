"""A gateway on an edge Mosquitto, the bridge service on the central one (edge_rig.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.topology.edge_rig import EdgeRig, start_edge_rig


@pytest.fixture(scope="module")
def edge_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeRig]:
    rig = start_edge_rig(Path(tmp_path_factory.mktemp("edge-rig")))
    try:
        yield rig
    finally:
        rig.stop()
