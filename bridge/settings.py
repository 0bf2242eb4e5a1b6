"""The bridge's settings: ``FACTORY_*`` environment variables, optionally from an env file."""

from __future__ import annotations

import os
import socket
import tomllib
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from factory_core.broker_admin import PlantError, parse_plant
from factory_core.errors import shown
from factory_core.logs import LogFormat
from factory_core.settings import CommonSettings, default_state_dir

REPO = Path(__file__).resolve().parents[1]
ENV_PREFIX = "FACTORY_"
# Where a wheel carries the built dashboard (buildtools/wheel.py puts it there).
PACKAGED_WEB_DIST = Path(__file__).resolve().parent / "web_dist"


def default_web_dist() -> Path:
    """The dashboard shipped in the installed package, else the checkout's web build."""
    return PACKAGED_WEB_DIST if PACKAGED_WEB_DIST.is_dir() else REPO / "web" / "dist"


def _origins(value: str) -> str:
    for origin in _split(value):
        if origin == "*":
            raise ValueError("'*' is not allowed: list the origins (scheme://host[:port])")
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ValueError(f"origin {origin!r} must be http(s)://host[:port], without a path")
    return value


def _rate_limit(value: str) -> str:
    try:
        parsed = parse_many(value)
    except ValueError:
        parsed = []
    if not parsed:
        raise ValueError(f"rate limit {value!r} must look like '10/minute' or '100 per hour'")
    return value


def _secret(value: SecretStr | None) -> SecretStr | None:
    if value is not None and len(value.get_secret_value()) < 32:
        raise ValueError(f"must be at least 32 characters (got {len(value.get_secret_value())})")
    return value


def _split(value: str) -> list[str]:
    return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]


def _priorities(value: str) -> str:
    allowed = ("critical", "high", "medium", "low")
    wrong = [p for p in _split(value) if p not in allowed]
    if wrong:
        raise ValueError(f"{', '.join(map(repr, wrong))} not among {', '.join(allowed)}")
    return value


def _http_url(value: str) -> str:
    if value and urlsplit(value).scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _client_id(value: str) -> str:
    if value and not all(c.isalnum() or c in "-_." for c in value):
        raise ValueError(f"bridge id {value!r} may only hold letters, digits, '-', '_' and '.'")
    return value


def _plant_file(value: Path | None) -> Path | None:
    if value is not None:
        edges_behind(value)  # every problem of the file, now rather than at the first cut
    return value


def edges_behind(plant_file: Path | None) -> dict[str, str]:
    """Gateway id -> the edge broker it is behind, from the plant description."""
    if plant_file is None:
        return {}
    try:
        data = tomllib.loads(plant_file.read_text())
    except OSError as exc:
        raise ValueError(f"cannot read the plant description ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"the plant description is not valid TOML ({exc})") from None
    try:
        return parse_plant(data).behind_edges()
    except PlantError as exc:
        raise ValueError("; ".join(exc.problems)) from None


class BridgeSettings(CommonSettings):
    """Everything the bridge reads; docs/configuration.md lists each variable."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    http_host: str = Field(default="127.0.0.1", min_length=1, description="HTTP listen address")
    http_port: int = Field(default=5000, ge=1, le=65535, description="HTTP listen port")
    command_ttl: float = Field(
        default=5.0, gt=0, le=300, description="Seconds a relay command may take, end to end"
    )
    command_grace: float = Field(
        default=2.5,
        ge=0,
        le=60,
        description="Seconds to keep waiting past a command's deadline: at least the gateways' "
        "clock_skew_s, which they allow after it",
    )
    coalesce_ms: int = Field(
        default=2,
        ge=0,
        le=10_000,
        description="At ordinary load, minimum ms between two pushes of a busy event to a "
        "client (anything sparser goes at once); 0 = none: a client gets its next push as soon "
        "as its transport has taken the previous one",
    )
    coalesce_max_ms: int | None = Field(
        default=None,
        ge=0,
        le=10_000,
        description="The same minimum once changes arrive at twice FACTORY_COALESCE_KNEE_RATE "
        "or faster (in between it grows with the rate); at least FACTORY_COALESCE_MS; "
        "default 50, or FACTORY_COALESCE_MS if that is more",
    )
    coalesce_knee_rate: int = Field(
        default=4_000,
        ge=1,
        le=10_000_000,
        description="Changes per second across the plant above which pushes are merged harder",
    )
    coalesce_burst: int = Field(
        default=1,
        ge=1,
        le=10_000,
        description="Deltas per event per coalescing interval still forwarded one by one",
    )
    client_stuck_s: float = Field(
        default=10.0, gt=0, le=3600, description="Disconnect a client whose queue stays full"
    )
    web_dist: Path = Field(
        default_factory=default_web_dist,
        description="Built dashboard; default: the one in the installed package, else web/dist",
    )
    cors_origins: Annotated[str, AfterValidator(_origins)] = Field(
        default="", description="Comma-separated allowed origins; empty: same origin only"
    )
    state_dir: Path = Field(
        default_factory=lambda: default_state_dir("factory-bridge"),
        description="Users, tokens, sessions, secret key, audit log and history",
    )
    secret_key: Annotated[SecretStr | None, AfterValidator(_secret)] = Field(
        default=None, description="Signs session cookies; default: generated into the state dir"
    )
    session_hours: float = Field(default=12, gt=0, le=24 * 30, description="Login lifetime, h")
    cookie_secure: bool = Field(default=False, description="Always mark the cookie Secure")
    trust_proxy: bool = Field(
        default=False, description="Honour X-Forwarded-For/-Proto/-Host from one reverse proxy"
    )
    http_rate_limit: Annotated[str, AfterValidator(_rate_limit)] = Field(
        default="600/minute", description="HTTP API requests per user (or per address)"
    )
    login_rate_limit: Annotated[str, AfterValidator(_rate_limit)] = Field(
        default="10/minute", description="Login attempts per address and per user name"
    )
    command_rate: float = Field(
        default=60, gt=0, le=100_000, description="Relay commands per minute per user"
    )
    command_burst: int = Field(
        default=10, ge=1, le=10_000, description="Relay commands a user may send at once"
    )
    metrics_public: bool = Field(default=False, description="Serve /metrics without login")
    history_window_s: float = Field(default=3600, gt=0, description="History kept per device, s")
    history_points: int = Field(default=300, ge=2, le=10_000, description="Points per history")
    history_flush_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Seconds between two writes of the recorded history to disk: what a "
        "crash can lose (a clean stop writes everything)",
    )
    history_second_keep_h: float = Field(
        default=1, gt=0, le=24 * 31, description="Per-second history kept, hours"
    )
    history_minute_keep_d: float = Field(
        default=7, gt=0, le=3660, description="Per-minute history kept, days"
    )
    history_ten_minute_keep_d: float = Field(
        default=365, gt=0, le=3660, description="Per-10-minute history kept, days"
    )
    event_log_keep_d: float = Field(
        default=90, gt=0, le=3660, description="The operators' event log is kept this many days"
    )
    notify_priorities: Annotated[str, AfterValidator(_priorities)] = Field(
        default="critical,high", description="Alarm priorities announced by webhook and e-mail"
    )
    notify_resend_s: float = Field(
        default=900,
        ge=0,
        description="Announced again after this many s while unacknowledged; 0: never",
    )
    notify_webhook_url: Annotated[str, AfterValidator(_http_url)] = Field(
        default="", description="POST each announced alarm as JSON here; empty: no webhook"
    )
    notify_webhook_token: SecretStr | None = Field(
        default=None, description="Sent as 'Authorization: Bearer <token>' to the webhook"
    )
    notify_smtp_host: str = Field(
        default="", description="SMTP server for alarm e-mail; empty: none"
    )
    notify_smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port")
    notify_smtp_starttls: bool = Field(default=True, description="STARTTLS before logging in")
    notify_smtp_user: str = Field(default="", description="SMTP login; empty: none")
    notify_smtp_password: SecretStr | None = Field(default=None, description="SMTP password")
    notify_email_from: str = Field(default="factory-iot@localhost", description="Sender address")
    notify_email_to: str = Field(default="", description="Comma-separated recipients")
    event_buffer: int = Field(default=1000, ge=1, le=1_000_000, description="Deltas kept")
    bridge_stats_interval: float = Field(default=2.0, gt=0, description="Own stats period, s")
    bridge_id: Annotated[str, AfterValidator(_client_id)] = Field(
        default="",
        max_length=64,
        description="MQTT client id (the samples connection adds -samples); default "
        "bridge-<host>-<random>",
    )
    plant_file: Annotated[Path | None, AfterValidator(_plant_file)] = Field(
        default=None,
        description="The plant description (factory-broker's TOML): which gateways are behind "
        "which edge broker, so that an edge link down shows them offline",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: LogFormat = Field(default="text", description="text, or json: one object a line")

    @field_validator("coalesce_max_ms")
    @classmethod
    def _max_not_below_least(cls, value: int | None, info: ValidationInfo) -> int | None:
        least = info.data.get("coalesce_ms")
        if value is not None and least is not None and value < least:
            raise ValueError(f"must be >= {ENV_PREFIX}COALESCE_MS ({least})")
        return value

    @property
    def coalesce_under_load_ms(self) -> int:
        if self.coalesce_max_ms is not None:
            return self.coalesce_max_ms
        return max(self.coalesce_ms, 50)

    @property
    def cors_origin_list(self) -> list[str]:
        return _split(self.cors_origins)

    @property
    def mqtt_client_id(self) -> str:
        # Unique per process so that several bridges can share one broker.
        host = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-_")[:24]
        return self.bridge_id or f"bridge-{host}-{uuid.uuid4().hex[:8]}"


FIELD_NAMES: frozenset[str] = frozenset(BridgeSettings.model_fields)


class _GivenSettings(BridgeSettings):
    """Reads only the values it is given: the environment plays no part."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


class SettingsError(Exception):
    """All problems with the configuration, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


def load_settings(env_file: str | None = None) -> BridgeSettings:
    """Read the settings; raise SettingsError naming every bad variable and its value."""
    path = env_file or os.environ.get(f"{ENV_PREFIX}ENV_FILE") or None
    if path is not None and not Path(path).is_file():
        raise SettingsError([f"env file {path!r} does not exist"])
    try:
        return BridgeSettings(_env_file=path)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def parse_settings(values: Mapping[str, str]) -> BridgeSettings:
    """Settings from ``FACTORY_*`` values alone (no environment, no file); SettingsError if bad."""
    fields: dict[str, Any] = {
        key.removeprefix(ENV_PREFIX).lower(): value
        for key, value in values.items()
        if key.startswith(ENV_PREFIX) and key.removeprefix(ENV_PREFIX).lower() in FIELD_NAMES
    }
    try:
        return _GivenSettings(**fields)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> list[str]:
    """``FACTORY_X=<value>: what is wrong``, as the variable would be written (secrets hidden)."""
    out = []
    for err in exc.errors(include_url=False):
        field = str(err["loc"][0]) if err["loc"] else "?"
        msg = err["msg"].removeprefix("Value error, ")
        out.append(f"{ENV_PREFIX}{field.upper()}={shown(err.get('input'), field)}: {msg}")
    return out
