"""What a gateway announces about itself (its retained meta), built from its config."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from factory_core.contract import DeviceInfo, GatewayMeta, InterlockRule, RelayInfo
from gateway.config import GatewayConfig


def gateway_version() -> str:
    try:
        return version("factory-iot")
    except PackageNotFoundError:
        return "0.0.0+unknown"


def gateway_meta(config: GatewayConfig) -> GatewayMeta:
    devices = [
        DeviceInfo(id=s.id, name=s.name, kind=s.kind, unit=s.unit) for s in config.sensors
    ] + [DeviceInfo(id=i.id, name=i.name, kind=i.kind) for i in config.inputs]
    relays = [
        RelayInfo(id=r.id, name=r.name, safe_state=r.safe_state, confirm=r.confirm)
        for r in config.relays
    ]
    return GatewayMeta(
        version=gateway_version(),
        name=config.name,
        devices=devices,
        relays=relays,
        # The contract's model, not the config's (which forbids extra keys).
        interlocks=[InterlockRule.model_validate(r.model_dump()) for r in config.interlocks],
        stats_interval_s=config.system_interval_s,
    )
