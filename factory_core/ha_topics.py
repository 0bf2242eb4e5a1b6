"""Home Assistant discovery topic names for our gateways (shared by gateway and broker ACL)."""

from __future__ import annotations

from typing import Final

DEFAULT_DISCOVERY_PREFIX: Final = "homeassistant"


def node_id(gateway: str) -> str:
    return f"factory_{gateway}"


def config_topic(prefix: str, component: str, gateway: str, object_id: str) -> str:
    return f"{prefix}/{component}/{node_id(gateway)}/{object_id}/config"


def discovery_filter(prefix: str, gateway: str) -> str:
    """Every discovery config of one gateway (it reads them back to remove stale ones)."""
    return f"{prefix}/+/{node_id(gateway)}/+/config"


def status_topic(prefix: str) -> str:
    """Where Home Assistant announces `online` after it starts."""
    return f"{prefix}/status"
