"""Settings shared by gateway and bridge: where the broker is and which topic prefix to use."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlsplit

from pydantic import AfterValidator, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from factory_core.contract import DEFAULT_PREFIX, Topics
from factory_core.errors import shown

_SCHEMES = {"mqtt": (1883, False), "mqtts": (8883, True)}


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None  # CA that signed the broker's certificate; None: system CAs

    def __str__(self) -> str:  # never print the password
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> BrokerAddress:
    """``mqtt://[user:pass@]host[:port]`` (or ``mqtts://``) to a BrokerAddress."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValueError(f"MQTT URL {shown(url)} must start with mqtt:// or mqtts://")
    default_port, tls = _SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError(f"MQTT URL {shown(url)} has an invalid port") from None
    if not parts.hostname:
        raise ValueError(f"MQTT URL {shown(url)} has no host")
    if parts.path not in ("", "/"):
        raise ValueError(f"MQTT URL {shown(url)} must not have a path")
    return BrokerAddress(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def _valid_url(url: str) -> str:
    parse_mqtt_url(url)
    return url


def _readable_file(path: Path | None) -> Path | None:
    if path is not None and not path.is_file():
        raise ValueError(f"CA file {str(path)!r} does not exist or is not a file")
    return path


def _valid_prefix(prefix: str) -> str:
    Topics(prefix)
    return prefix


def default_state_dir(program: str) -> Path:
    """systemd's ``StateDirectory=`` (``STATE_DIRECTORY``) when set, else the XDG state dir."""
    if os.environ.get("STATE_DIRECTORY"):
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / program


class CommonSettings(BaseSettings):
    """``FACTORY_MQTT_URL`` and ``FACTORY_TOPIC_PREFIX``, read by both services."""

    model_config = SettingsConfigDict(env_prefix="FACTORY_", extra="ignore")

    mqtt_url: Annotated[str, AfterValidator(_valid_url)] = Field(
        default="mqtt://127.0.0.1:1883",
        description="Broker address, mqtt://[user:pass@]host:port (mqtts:// for TLS)",
    )
    topic_prefix: Annotated[str, AfterValidator(_valid_prefix)] = Field(
        default=DEFAULT_PREFIX, description="First topic level of every topic"
    )
    mqtt_keepalive: int = Field(default=10, ge=2, le=3600, description="MQTT keepalive, s")
    mqtt_ca_file: Annotated[Path | None, AfterValidator(_readable_file)] = Field(
        default=None,
        description="PEM CA certificate to trust for mqtts:// (default: the system's CAs)",
    )

    @property
    def broker(self) -> BrokerAddress:
        address = parse_mqtt_url(self.mqtt_url)
        if self.mqtt_ca_file is None:
            return address
        return replace(address, ca_file=str(self.mqtt_ca_file))

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)
