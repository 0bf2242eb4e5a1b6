"""The bridge's metric names: one project prefix, beside the gateways' factory_gateway_*."""

from __future__ import annotations

from bridge.metrics import Metrics


def test_every_bridge_series_is_factory_bridge_prefixed() -> None:
    names = {family.name for family in Metrics().registry.collect()}
    assert "factory_bridge_commands" in names
    assert {name for name in names if not name.startswith("factory_bridge_")} == set()
    exposed = Metrics().render().decode()
    samples = [line for line in exposed.splitlines() if line and not line.startswith("#")]
    assert samples and all(line.startswith("factory_bridge_") for line in samples)
