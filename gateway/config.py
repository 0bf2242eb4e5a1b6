"""The gateway's configuration: one TOML file, validated at start-up, environment on top.

Every problem is reported at once (``ConfigError.problems``), each naming the key and the bad
value. Environment variables (``FACTORY_*``) override the file; the broker URL with its
password belongs in the environment (``FACTORY_MQTT_URL``), never in the file.
"""

from __future__ import annotations

import contextlib
import itertools
import tomllib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from factory_core.alarms import Priority
from factory_core.contract import MAX_LATE_BATCH, PREFIX_PATTERN, Identifier, InterlockRule
from factory_core.errors import problems as validation_problems
from factory_core.settings import CommonSettings, default_state_dir, parse_mqtt_url
from gateway import interlock_decision

EXAMPLES = Path(__file__).parent / "examples"
DEMO_CONFIG = EXAMPLES / "demo.toml"

Name = Annotated[str, Field(min_length=1, max_length=128)]
Kind = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]
Unit = Annotated[str, Field(max_length=16)]
Pin = Annotated[int, Field(ge=0, le=63)]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Policy = Literal["safe", "hold"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HardwareConfig(_Section):
    backend: Literal["rpi_gpio", "simulated"] = Field(
        description="Pin backend; chosen here explicitly, never by fallback"
    )
    numbering: Literal["BCM", "BOARD"] = "BCM"
    simulated_wiring: dict[Pin, Pin] = Field(
        default_factory=dict, description="simulated backend: input pin -> output pin it follows"
    )


class RelayConfig(_Section):
    id: Identifier
    name: Name
    pin: Pin
    active_low: bool = Field(default=False, description="the relay is on when the pin is low")
    safe_state: bool = False
    pulse_ms: Annotated[int, Field(gt=0, le=3_600_000)] | None = Field(
        default=None, description="`on` switches on for this long, then off (timed here)"
    )
    min_interval_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    on_link_loss: Policy = "safe"
    on_shutdown: Policy = "safe"
    confirm: bool = Field(
        default=False, description="dashboards ask the operator to confirm before switching"
    )
    readback_alarm: Priority | None = Field(
        default="high", description="priority of the alarm while the pin does not follow a command"
    )
    failure_alarm: Priority | None = Field(
        default="medium", description="priority of the alarm while commands fail (hardware error)"
    )


class InputConfig(_Section):
    id: Identifier
    name: Name
    pin: Pin
    kind: Kind = "digital_input"
    pull: Literal["up", "down", "off"] = "off"
    debounce_ms: Annotated[int, Field(ge=0, le=10_000)] = 50
    active_low: bool = Field(default=False, description="value is true when the pin is low")
    alarm: InputAlarm | None = None


Finite = Annotated[float, Field(allow_inf_nan=False)]
Delay = Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False)]


class LimitPriorities(_Section):
    lolo: Priority = "critical"
    lo: Priority = "high"
    hi: Priority = "high"
    hihi: Priority = "critical"


class AnalogAlarms(_Section):
    """``[sensors.alarms]``: limits (any of them), their deadband, on-delay and priorities."""

    lolo: Finite | None = None
    lo: Finite | None = None
    hi: Finite | None = None
    hihi: Finite | None = None
    deadband: Annotated[float, Field(ge=0, allow_inf_nan=False)] = Field(
        default=0.0, description="an alarm clears only once the value is back by more than this"
    )
    on_delay_s: Delay = Field(default=0.0, description="the limit must be crossed this long")
    priorities: LimitPriorities = Field(default_factory=LimitPriorities)
    bad_quality: Priority | None = Field(
        default="medium",
        description="priority of the alarm raised while the sensor cannot be "
        "read; omit with bad_quality = false",
    )

    @model_validator(mode="before")
    @classmethod
    def _bad_quality_off(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("bad_quality") is False:
            return {**data, "bad_quality": None}
        return data

    @model_validator(mode="after")
    def _limits_in_order(self) -> AnalogAlarms:
        limits = [
            (n, v) for n in ("lolo", "lo", "hi", "hihi") if (v := getattr(self, n)) is not None
        ]
        wrong = [
            f"{a} ({x}) must be below {b} ({y})"
            for (a, x), (b, y) in itertools.pairwise(limits)
            if x >= y
        ]
        if wrong:
            raise ValueError("limits out of order: " + ", ".join(wrong))
        return self


class InputAlarm(_Section):
    """``[inputs.alarm]``: the input's alarming state."""

    state: bool = Field(description="the value (after active_low) that is abnormal")
    priority: Priority = "high"
    on_delay_s: Delay = 0.0


class _SensorBase(_Section):
    id: Identifier
    name: Name
    kind: Kind
    unit: Unit | None = None
    interval_s: Seconds = 1.0
    deadband: Annotated[float, Field(ge=0, allow_inf_nan=False)] = Field(
        default=0.0, description="publish only when the value moved at least this much"
    )
    precision: Annotated[int, Field(ge=0, le=6)] = 2
    alarms: AnalogAlarms | None = None


class Ds18b20Config(_SensorBase):
    type: Literal["ds18b20"]
    kind: Kind = "temperature"
    unit: Unit | None = "°C"
    base_dir: Path = Path("/sys/bus/w1/devices")
    serial: Annotated[str, Field(pattern=r"^28-[0-9a-f]{12}$")] | None = Field(
        default=None, description="28-xxxxxxxxxxxx; the first one found when omitted"
    )


class CpuTempConfig(_SensorBase):
    type: Literal["cpu_temp"]
    kind: Kind = "temperature"
    unit: Unit | None = "°C"
    thermal_zone: Path = Path("/sys/class/thermal/thermal_zone0/temp")


class SimulatedSensorConfig(_SensorBase):
    type: Literal["simulated"]
    setpoint: float
    step: Annotated[float, Field(ge=0)] = Field(default=0.1, description="random-walk step")
    minimum: float | None = None
    maximum: float | None = None
    seed: int | None = None


class HomeAssistantConfig(_Section):
    enabled: bool = Field(default=False, description="publish Home Assistant MQTT discovery")
    discovery_prefix: Annotated[str, Field(pattern=PREFIX_PATTERN)] = "homeassistant"
    removal_window_s: Seconds = Field(
        default=1.0,
        description="after connecting, how long to collect Home Assistant's retained configs "
        "of this gateway before clearing those no longer in the config",
    )


class StoreForwardConfig(_Section):
    """``[store_forward]``: samples kept on disk while the broker is unreachable, forwarded
    (as late samples, for history only) once it is back."""

    enabled: bool = True
    max_samples: Annotated[int, Field(gt=0, le=10_000_000)] = Field(
        default=100_000, description="at most this many samples kept; the oldest go first"
    )
    max_bytes: Annotated[int, Field(gt=0)] = Field(
        default=16 * 1024 * 1024,
        description="at most this many bytes of samples kept (as sent); the oldest go first",
    )
    max_age_s: Seconds = Field(
        default=86_400.0, description="a sample taken longer ago than this is dropped"
    )
    batch_size: Annotated[int, Field(gt=0, le=MAX_LATE_BATCH)] = Field(
        default=200, description="samples in one late_samples message"
    )
    batch_interval_s: Seconds = Field(
        default=0.1,
        description="at least this long between two batches (and between two writes to disk): "
        "a long backlog leaves room for live states and commands",
    )


class InterlockConfig(InterlockRule):
    """An interlock as written in the TOML: the contract's rule, nothing more or less."""

    model_config = ConfigDict(extra="forbid", frozen=True)


SensorConfig = Annotated[
    Ds18b20Config | CpuTempConfig | SimulatedSensorConfig, Field(discriminator="type")
]


class GatewayConfig(CommonSettings):
    """Top-level keys; ``FACTORY_<KEY>`` in the environment overrides the file."""

    model_config = SettingsConfigDict(env_prefix="FACTORY_", extra="forbid", frozen=True)

    gateway_id: Identifier = "line1"
    name: Name | None = None
    state_dir: Path = Field(default_factory=lambda: default_state_dir("factory-gateway"))
    system_interval_s: Seconds = 2.0
    republish_interval_s: Seconds = Field(
        default=60.0, description="every state is republished at least this often"
    )
    link_loss_timeout_s: Seconds = 30.0
    clock_skew_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 2.0
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = Field(
        default=0, description="Prometheus metrics on this HTTP port; 0 = off"
    )
    metrics_host: str = Field(default="0.0.0.0", description="address the metrics listen on")
    home_assistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)
    store_forward: StoreForwardConfig = Field(default_factory=StoreForwardConfig)
    hardware: HardwareConfig
    relays: list[RelayConfig] = Field(default_factory=list)
    inputs: list[InputConfig] = Field(default_factory=list)
    sensors: list[SensorConfig] = Field(default_factory=list)
    interlocks: list[InterlockConfig] = Field(
        default_factory=list, description="rules the gateway enforces on every command"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init kwargs; the environment wins over them.
        return env_settings, init_settings

    @model_validator(mode="after")
    def _no_conflicts(self) -> GatewayConfig:
        problems = find_conflicts(self.model_dump(mode="python"))
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ConfigError(Exception):
    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


def find_conflicts(data: Mapping[str, Any]) -> list[str]:
    """Duplicate pins and ids; tolerant of unvalidated input so it can run next to pydantic."""
    problems: list[str] = []

    def items(section: str) -> list[tuple[str, Mapping[str, Any]]]:
        entries = data.get(section)
        if not isinstance(entries, list):
            return []
        return [(f"{section}[{i}]", e) for i, e in enumerate(entries) if isinstance(e, Mapping)]

    def duplicates(key: str, entries: list[tuple[str, Mapping[str, Any]]], what: str) -> None:
        values = Counter(e.get(key) for _, e in entries if isinstance(e.get(key), str | int))
        for where, e in entries:
            value = e.get(key)
            if isinstance(value, str | int) and values[value] > 1:
                problems.append(f"{where}.{key}: duplicate {what} {value!r}")

    pinned = items("relays") + items("inputs")
    duplicates("pin", pinned, "pin")
    duplicates("id", items("relays"), "relay id")
    duplicates("id", items("sensors") + items("inputs"), "device id")
    problems.extend(_interlock_problems(data))
    return problems


def _interlock_problems(data: Mapping[str, Any]) -> list[str]:
    """The rule set's problems (unknown ids, unsound rules, cycles), judged on the rules and
    relays that are themselves well-formed: the malformed ones are reported by pydantic."""
    entries = data.get("interlocks")
    if not isinstance(entries, list):
        return []
    rules: list[InterlockRule] = []
    for entry in entries:
        with contextlib.suppress(ValidationError):
            rules.append(InterlockRule.model_validate(entry))

    def entries_of(section: str) -> list[Mapping[str, Any]]:
        found = data.get(section)
        items = found if isinstance(found, list) else []
        return [e for e in items if isinstance(e, Mapping) and isinstance(e.get("id"), str)]

    safe_states = {r["id"]: r.get("safe_state") is True for r in entries_of("relays")}
    inputs = [i["id"] for i in entries_of("inputs")]
    return interlock_decision.problems(rules, safe_states, inputs)


def parse_config(data: Mapping[str, Any], source: str = "configuration") -> GatewayConfig:
    """Validate a config mapping (environment on top); raise ConfigError with every problem."""
    problems: list[str] = []
    url = data.get("mqtt_url")
    if isinstance(url, str):
        try:
            if parse_mqtt_url(url).password:
                problems.append(
                    "mqtt_url: a password does not belong in the file, set FACTORY_MQTT_URL "
                    "in the environment (got a URL with a password)"
                )
        except ValueError:
            pass  # reported by the model below
    try:
        config = GatewayConfig(**data)
    except ValidationError as exc:
        problems.extend(p for p in validation_problems(exc) if p not in problems)
        problems.extend(p for p in find_conflicts(data) if p not in problems)
    if problems:
        raise ConfigError(source, problems)
    return config


def load_config(path: Path) -> GatewayConfig:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_config(data, str(path))
