"""The MQTT contract of Factory IoT: topics, payload models and validation.

This module is the single owner of the public MQTT API described in docs/mqtt-contract.md.
Gateway, bridge, tests and tools build and parse topics only through it. It is pure: no
sockets, no clocks except where a caller passes one in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, TypeAlias, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationError,
)

from factory_core.alarms import GATEWAY_CONDITIONS, Condition, Phase, Priority
from factory_core.errors import problems

CONTRACT_VERSION: Final = "1"
DEFAULT_PREFIX: Final = "factory"
ID_PATTERN: Final = r"^[a-z0-9_-]{1,64}$"
# The topic level under the prefix where edge brokers report their links: not an id, so no
# gateway can be named like it.
EDGE_LINKS_LEVEL: Final = "$edges"
COMMAND_ID_PATTERN: Final = r"^[A-Za-z0-9_.:-]{1,128}$"
MAX_PAYLOAD_BYTES: Final = 64 * 1024
# Silence: a connected gateway that has sent nothing for this many of the system stats
# intervals its meta declares (and at least MIN_SILENCE_S) is silent. See silence_window.
SILENT_AFTER_INTERVALS: Final = 3
MIN_SILENCE_S: Final = 5.0
_ID_RE: Final = re.compile(ID_PATTERN)
PREFIX_PATTERN: Final = r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$"  # our prefix, and HA's
_PREFIX_RE: Final = re.compile(PREFIX_PATTERN)

Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
CommandId = Annotated[str, StringConstraints(pattern=COMMAND_ID_PATTERN)]
Timestamp = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Number = StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)]
Availability: TypeAlias = Literal["online", "offline"]
Quality: TypeAlias = Literal["good", "bad"]
ErrorCode: TypeAlias = Literal[
    "invalid",  # the command was not well-formed
    "unknown_relay",
    "expired",  # its deadline had passed when the gateway received it
    "duplicate",  # this command id was already executed
    "too_soon",  # the relay's minimum time between switches has not elapsed
    "readback_mismatch",  # the pin did not take the commanded level
    "hardware_error",
    "interlocked",  # switching would break an interlock rule; detail names the rule
    "locked",  # the relay is locked (lock-out / tag-out); detail says who, why, since when
    # Outcomes decided by the sender (bridge) rather than the gateway:
    "timeout",
    "gateway_offline",
    "gateway_silent",  # the gateway is connected but has sent nothing for its silence window
    "not_connected",
    # Refused by the bridge before anything is published:
    "forbidden",  # the caller's role may not switch relays (or unlock this lock)
    "rate_limited",  # the caller sent too many commands; retry later
    # Alarm commands:
    "unknown_alarm",  # no such alarm is known (to the gateway, or to the bridge)
    "unknown_device",  # no such device is known to the bridge
]
AlarmAction: TypeAlias = Literal["acknowledge", "shelve", "unshelve"]
CONDITIONS: Final[frozenset[str]] = frozenset(get_args(Condition))
GATEWAY_ALARMS: Final[frozenset[str]] = frozenset(GATEWAY_CONDITIONS)
# A device's alarms: a gateway's own offline and silent alarms have a topic of their own.
DEVICE_ALARMS: Final[frozenset[str]] = CONDITIONS - GATEWAY_ALARMS


class ContractError(ValueError):
    """Something on the wire does not follow the contract."""


class TopicError(ContractError):
    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(f"topic {topic!r} is outside the contract: {reason}")
        self.topic = topic
        self.reason = reason


class PayloadError(ContractError):
    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(f"payload on {topic!r} rejected: {reason}")
        self.topic = topic
        self.reason = reason


def _condition(value: str) -> str:
    if value not in DEVICE_ALARMS:
        raise ValueError(f"alarm condition {value!r} is not one of {sorted(DEVICE_ALARMS)}")
    return value


def is_identifier(value: str) -> bool:
    return _ID_RE.fullmatch(value) is not None


# --------------------------------------------------------------------------- payloads


class ContractModel(BaseModel):
    # Unknown fields are ignored so that field devices may add their own; known fields are strict.
    model_config = ConfigDict(frozen=True, extra="ignore")

    def to_bytes(self) -> bytes:
        """Compact JSON without optional nulls; a required null (a bad reading) is kept."""
        fields = type(self).model_fields
        data = self.model_dump(mode="json")
        kept = {k: v for k, v in data.items() if v is not None or fields[k].is_required()}
        return json.dumps(kept, separators=(",", ":"), ensure_ascii=False).encode()


class DeviceInfo(ContractModel):
    id: Identifier
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")] = Field(
        description="temperature, humidity, pressure, vibration, digital_input, ..."
    )
    unit: Annotated[str, StringConstraints(max_length=16)] | None = None


class RelayInfo(ContractModel):
    id: Identifier
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    safe_state: StrictBool = False
    confirm: StrictBool = Field(
        default=False, description="dashboards ask the operator to confirm before switching"
    )


InterlockKind: TypeAlias = Literal["requires", "excludes", "permissive"]


class InterlockRule(ContractModel):
    """One interlock, enforced by the gateway; every rule constrains ``relay`` being on.

    requires: ``relay`` may be on only while relay ``other`` is on. excludes: ``relay`` and
    relay ``other`` are never both on. permissive: ``relay`` may be on only while digital input
    ``other`` reads ``state``. When a rule stops holding (``other`` switched off, an input
    changed), the gateway drives ``relay`` to its safe state (off) at once: a trip.
    """

    id: Identifier
    kind: InterlockKind
    relay: Identifier
    other: Identifier = Field(
        description="requires: the relay that must be on; excludes: the relay that must be "
        "off; permissive: the digital input"
    )
    state: StrictBool = Field(default=True, description="permissive: the input's required value")

    def describe(self) -> str:
        match self.kind:
            case "requires":
                return f"{self.relay} may be on only while {self.other} is on"
            case "excludes":
                return f"{self.relay} and {self.other} are never both on"
            case "permissive":
                return f"{self.relay} may be on only while input {self.other} is {self.state}"
        raise AssertionError(self.kind)  # pragma: no cover


class GatewayMeta(ContractModel):
    version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    name: Annotated[str, StringConstraints(max_length=128)] | None = None
    devices: list[DeviceInfo] = Field(default_factory=list, max_length=1024)
    relays: list[RelayInfo] = Field(default_factory=list, max_length=1024)
    interlocks: list[InterlockRule] = Field(default_factory=list, max_length=1024)
    stats_interval_s: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        default=None,
        description="seconds between two of its system stats messages: readers judge the "
        "gateway silent after 3 intervals without any message (at least 5 s); absent: never",
    )


def silence_window(stats_interval_s: float | None) -> float | None:
    """Seconds without any message after which a connected gateway counts as silent.

    The one rule every reader applies (docs/mqtt-contract.md, "Silence"): a gateway that
    declares ``stats_interval_s`` in its meta sends its system stats that often, so
    ``SILENT_AFTER_INTERVALS`` intervals without a single message means it has missed that
    many; never less than ``MIN_SILENCE_S``, so that a very fast cadence does not turn a
    moment of broker or network jitter into an alarm. A device that declares no cadence (a
    field device that publishes on change only) cannot be judged: None, never silent.
    """
    if stats_interval_s is None:
        return None
    return max(SILENT_AFTER_INTERVALS * stats_interval_s, MIN_SILENCE_S)


class DeviceState(ContractModel):
    value: StrictBool | Number | None = Field(
        description="the reading; a boolean for digital inputs; null when quality is bad"
    )
    unit: Annotated[str, StringConstraints(max_length=16)] | None = None
    ts: Timestamp
    seq: Annotated[int, Field(ge=0)]
    quality: Quality = "good"


UserName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
LockReason = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class RelayLock(ContractModel):
    """A maintenance lock (lock-out / tag-out): the relay refuses every command."""

    by: UserName = Field(description="who locked it (the logged-in user, filled in by the bridge)")
    reason: LockReason
    since: Timestamp


class RelayState(ContractModel):
    on: StrictBool = Field(description="the level read back from the pin")
    ts: Timestamp
    seq: Annotated[int, Field(ge=0)]
    cmd: CommandId | None = Field(default=None, description="id of the command that caused it")
    reason: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")] | None = Field(
        default=None,
        description="boot, command, pulse_end, link_loss, shutdown, trip, all_to_safe, ...",
    )
    rule: Identifier | None = Field(
        default=None, description="reason trip: the interlock rule that tripped it"
    )
    lock: RelayLock | None = Field(default=None, description="its maintenance lock, if locked")
    cycles: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="switching cycles (off to on) counted over its life"
    )
    on_time_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = Field(
        default=None, description="total seconds it has been on over its life"
    )


class RelayCommand(ContractModel):
    on: StrictBool
    id: CommandId
    by: Annotated[str, StringConstraints(min_length=1, max_length=128)] = "unknown"
    deadline: Timestamp = Field(description="Unix time after which the command must not run")


class LockCommand(ContractModel):
    """Lock or unlock one relay. Only bridges may publish it (broker ACL): ``by`` and ``role``
    are the logged-in user the bridge authenticated, never what a client claimed."""

    lock: StrictBool = Field(description="true: lock in its current state; false: unlock")
    id: CommandId
    by: UserName
    role: Literal["operator", "admin"] = Field(description="an admin may lift anyone's lock")
    reason: LockReason | None = Field(default=None, description="required to lock")
    deadline: Timestamp = Field(description="Unix time after which the command must not run")


class AllToSafeCommand(ContractModel):
    """Drive every relay of the gateway to its safe state (not a safety-rated stop)."""

    id: CommandId
    by: UserName
    deadline: Timestamp = Field(description="Unix time after which the command must not run")


class CommandResult(ContractModel):
    id: CommandId
    ok: StrictBool
    on: StrictBool | None = Field(default=None, description="the relay's state read back")
    error: ErrorCode | None = None
    detail: Annotated[str, StringConstraints(max_length=512)] | None = None


class SystemStats(ContractModel):
    cpu: Annotated[float, Field(ge=0, le=100)] = Field(description="CPU use, percent")
    memory: Annotated[float, Field(ge=0, le=100)] = Field(description="memory use, percent")
    disk: Annotated[float, Field(ge=0, le=100)] = Field(description="root disk use, percent")
    temperature: Annotated[float, Field(allow_inf_nan=False)] | None = Field(
        default=None, description="CPU temperature, degrees Celsius"
    )
    load: tuple[float, float, float] | None = Field(default=None, description="1/5/15 min")
    uptime: Annotated[float, Field(ge=0)] = Field(description="host uptime, seconds")
    command_latency_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = Field(
        default=None,
        description="the last relay command: seconds from its receipt to the pin read back",
    )
    ts: Timestamp


Operator = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class AlarmState(ContractModel):
    """One alarm, retained on ``<prefix>/<gw>/alarms/<source>/<condition>/state``."""

    priority: Priority
    active: StrictBool = Field(description="the abnormal condition is present now")
    acked: StrictBool = Field(description="an operator has acknowledged it (normal: true)")
    state: Phase = Field(description="normal, unacked, acked or rtn_unacked (ISA-18.2)")
    since: Timestamp = Field(description="when the current state began")
    raised: Timestamp | None = Field(default=None, description="when the condition last arrived")
    value: StrictBool | Number | None = Field(
        default=None, description="the device's value at the last transition"
    )
    limit: Number | None = Field(default=None, description="the limit crossed (analog limits)")
    message: Annotated[str, StringConstraints(max_length=256)] | None = None
    acked_by: Operator | None = None
    acked_at: Timestamp | None = None
    shelved_until: Timestamp | None = Field(
        default=None, description="shelved: hidden until then, and it returns by itself"
    )
    shelved_by: Operator | None = None
    shelve_reason: Reason | None = None
    ts: Timestamp


class AlarmCommand(ContractModel):
    """Acknowledge, shelve or unshelve one alarm, on ``.../alarms/<source>/<condition>/set``;
    the same rules as a relay command (unique id, deadline, MQTT 5 expiry)."""

    action: AlarmAction
    id: CommandId
    by: Operator = "unknown"
    deadline: Timestamp = Field(description="Unix time after which the command must not run")
    until: Timestamp | None = Field(default=None, description="shelve: the shelf's end")
    reason: Reason | None = Field(default=None, description="shelve: why (required)")


class GatewayAlarmAck(ContractModel):
    """The shared acknowledgement of a gateway's ``offline`` or ``silent`` alarm, retained on
    ``<prefix>/<gw>/gateway_alarms/<condition>/ack`` by the first bridge that took one.

    ``episode`` names the outage: the ``ts`` of the gateway's last system stats before it
    (0 when there were none), a fact every bridge reads alike from the retained message."""

    episode: Timestamp
    id: CommandId
    by: Operator
    ts: Timestamp


class OutOfService(ContractModel):
    """A device an operator took out of service, retained on ``<prefix>/<gw>/service/<id>``
    by a bridge (empty: back in service). Readers suppress its alarms and mark its values."""

    id: CommandId
    by: Operator
    ts: Timestamp
    reason: Reason


# A batch of late samples stays well under MAX_PAYLOAD_BYTES: ~110 bytes a sample at most.
MAX_LATE_BATCH: Final = 500


class LateSample(ContractModel):
    """One reading taken while the gateway could not reach its broker."""

    device: Identifier
    ts: Timestamp
    value: StrictBool | Number | None = Field(description="null when quality is bad")
    quality: Quality = "good"


class LateSamples(ContractModel):
    """Readings a gateway kept while its broker was unreachable, published once the link is
    back on ``<prefix>/<gw>/late_samples`` (QoS 1, never retained): they belong in history,
    never on the live view. At least once: a batch may come again (same ``seq``), and readers
    store each ``(device, ts)`` once."""

    seq: Annotated[int, Field(ge=0)] = Field(
        description="the buffer's number of the batch's first sample: grows across batches and "
        "gateway restarts; a repeated seq is a redelivery"
    )
    samples: list[LateSample] = Field(min_length=1, max_length=MAX_LATE_BATCH)
    dropped: Annotated[int, Field(ge=0)] = Field(
        default=0,
        description="samples the gateway's buffer has dropped (oldest first, over its limits) "
        "over its life: a reader knows the history has holes",
    )


PAYLOAD_MODELS: Final[dict[str, type[ContractModel]]] = {
    "meta": GatewayMeta,
    "device_state": DeviceState,
    "relay_state": RelayState,
    "relay_command": RelayCommand,
    "lock_command": LockCommand,
    "all_to_safe_command": AllToSafeCommand,
    "command_result": CommandResult,
    "system": SystemStats,
    "alarm_state": AlarmState,
    "alarm_command": AlarmCommand,
    "alarm_result": CommandResult,
    "gateway_alarm_ack": GatewayAlarmAck,
    "out_of_service": OutOfService,
    "late_samples": LateSamples,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every JSON payload, keyed by the name used in docs/schemas/."""
    return {name: model.model_json_schema() for name, model in PAYLOAD_MODELS.items()}


# --------------------------------------------------------------------------- topics


@dataclass(frozen=True, slots=True)
class StatusTopic:
    gateway: str


@dataclass(frozen=True, slots=True)
class MetaTopic:
    gateway: str


@dataclass(frozen=True, slots=True)
class DeviceStateTopic:
    gateway: str
    device: str


@dataclass(frozen=True, slots=True)
class RelayStateTopic:
    gateway: str
    relay: str


@dataclass(frozen=True, slots=True)
class RelaySetTopic:
    gateway: str
    relay: str


@dataclass(frozen=True, slots=True)
class RelayResultTopic:
    gateway: str
    relay: str


@dataclass(frozen=True, slots=True)
class RelayLockTopic:
    gateway: str
    relay: str


@dataclass(frozen=True, slots=True)
class AllToSafeTopic:
    gateway: str


@dataclass(frozen=True, slots=True)
class AllToSafeResultTopic:
    gateway: str


@dataclass(frozen=True, slots=True)
class SystemTopic:
    gateway: str


@dataclass(frozen=True, slots=True)
class AlarmStateTopic:
    gateway: str
    source: str  # the device or relay id
    condition: Condition


@dataclass(frozen=True, slots=True)
class AlarmSetTopic:
    gateway: str
    source: str
    condition: Condition


@dataclass(frozen=True, slots=True)
class AlarmResultTopic:
    gateway: str
    source: str
    condition: Condition


@dataclass(frozen=True, slots=True)
class GatewayAlarmAckTopic:
    gateway: str
    condition: Condition


@dataclass(frozen=True, slots=True)
class ServiceTopic:
    gateway: str
    device: str


@dataclass(frozen=True, slots=True)
class LateSamplesTopic:
    gateway: str


@dataclass(frozen=True, slots=True)
class RebirthTopic:
    pass


@dataclass(frozen=True, slots=True)
class EdgeLinkTopic:
    """An edge broker's link to the central one, as Mosquitto's bridge notifications say
    (docs/broker.md, "Edge and central brokers"): ``1`` up, ``0`` down (its last will)."""

    edge: str


Topic: TypeAlias = (
    StatusTopic
    | MetaTopic
    | DeviceStateTopic
    | RelayStateTopic
    | RelaySetTopic
    | RelayResultTopic
    | RelayLockTopic
    | AllToSafeTopic
    | AllToSafeResultTopic
    | SystemTopic
    | AlarmStateTopic
    | AlarmSetTopic
    | AlarmResultTopic
    | GatewayAlarmAckTopic
    | ServiceTopic
    | LateSamplesTopic
    | RebirthTopic
    | EdgeLinkTopic
)


class Topics:
    """Builds and parses the topics under one prefix (default ``factory``)."""

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        if not _PREFIX_RE.fullmatch(prefix):
            raise ValueError(
                f"topic prefix {prefix!r} is invalid: use letters, digits, '_' or '-', "
                "optionally in levels separated by '/'"
            )
        self.prefix = prefix
        self._levels = len(prefix.split("/"))

    def _gw(self, gateway: str, *rest: str) -> str:
        for part in (gateway, *rest[1::2]):
            if not is_identifier(part):
                raise ValueError(f"id {part!r} does not match {ID_PATTERN}")
        return "/".join((self.prefix, gateway, *rest))

    def status(self, gateway: str) -> str:
        return self._gw(gateway, "status")

    def meta(self, gateway: str) -> str:
        return self._gw(gateway, "meta")

    def device_state(self, gateway: str, device: str) -> str:
        return self._gw(gateway, "devices", device, "state")

    def relay_state(self, gateway: str, relay: str) -> str:
        return self._gw(gateway, "relays", relay, "state")

    def relay_set(self, gateway: str, relay: str) -> str:
        return self._gw(gateway, "relays", relay, "set")

    def relay_result(self, gateway: str, relay: str) -> str:
        return self._gw(gateway, "relays", relay, "result")

    def relay_lock(self, gateway: str, relay: str) -> str:
        """Lock commands: only bridges may publish here (the ACL), so ``by`` is trusted."""
        return self._gw(gateway, "relays", relay, "lock")

    def all_to_safe(self, gateway: str) -> str:
        return self._gw(gateway, "all_to_safe")

    def all_to_safe_result(self, gateway: str) -> str:
        return self._gw(gateway, "all_to_safe", "result")

    def system(self, gateway: str) -> str:
        return self._gw(gateway, "system")

    def alarm_state(self, gateway: str, source: str, condition: Condition) -> str:
        return self._gw(gateway, "alarms", source, _condition(condition), "state")

    def alarm_set(self, gateway: str, source: str, condition: Condition) -> str:
        return self._gw(gateway, "alarms", source, _condition(condition), "set")

    def alarm_result(self, gateway: str, source: str, condition: Condition) -> str:
        return self._gw(gateway, "alarms", source, _condition(condition), "result")

    def gateway_alarm_ack(self, gateway: str, condition: Condition) -> str:
        if condition not in GATEWAY_ALARMS:
            raise ValueError(
                f"a gateway alarm is one of {sorted(GATEWAY_ALARMS)}, not {condition!r}"
            )
        return self._gw(gateway, "gateway_alarms", condition, "ack")

    def service(self, gateway: str, device: str) -> str:
        return self._gw(gateway, "service", device)

    def late_samples(self, gateway: str) -> str:
        """Samples kept through an outage (history only; QoS 1, never retained)."""
        return self._gw(gateway, "late_samples")

    def rebirth(self) -> str:
        return f"{self.prefix}/rebirth"

    def edge_link(self, edge: str) -> str:
        """Where an edge broker's bridge says whether its link to the central broker is up.
        ``$`` keeps it apart from every gateway: a gateway id never contains one."""
        if not is_identifier(edge):
            raise ValueError(f"edge id {edge!r} does not match {ID_PATTERN}")
        return f"{self.prefix}/{EDGE_LINKS_LEVEL}/{edge}/link"

    def build(self, topic: Topic) -> str:
        match topic:
            case StatusTopic(gw):
                return self.status(gw)
            case MetaTopic(gw):
                return self.meta(gw)
            case DeviceStateTopic(gw, dev):
                return self.device_state(gw, dev)
            case RelayStateTopic(gw, relay):
                return self.relay_state(gw, relay)
            case RelaySetTopic(gw, relay):
                return self.relay_set(gw, relay)
            case RelayResultTopic(gw, relay):
                return self.relay_result(gw, relay)
            case RelayLockTopic(gw, relay):
                return self.relay_lock(gw, relay)
            case AllToSafeTopic(gw):
                return self.all_to_safe(gw)
            case AllToSafeResultTopic(gw):
                return self.all_to_safe_result(gw)
            case SystemTopic(gw):
                return self.system(gw)
            case AlarmStateTopic(gw, source, condition):
                return self.alarm_state(gw, source, condition)
            case AlarmSetTopic(gw, source, condition):
                return self.alarm_set(gw, source, condition)
            case AlarmResultTopic(gw, source, condition):
                return self.alarm_result(gw, source, condition)
            case GatewayAlarmAckTopic(gw, condition):
                return self.gateway_alarm_ack(gw, condition)
            case ServiceTopic(gw, dev):
                return self.service(gw, dev)
            case LateSamplesTopic(gw):
                return self.late_samples(gw)
            case RebirthTopic():
                return self.rebirth()
            case EdgeLinkTopic(edge):
                return self.edge_link(edge)
        raise AssertionError(topic)  # pragma: no cover

    # Subscriptions ---------------------------------------------------------

    def telemetry_filters(self) -> list[str]:
        """What a reader of the whole plant (bridge, plant system) subscribes to."""
        p = self.prefix
        return [
            f"{p}/+/status",
            f"{p}/+/meta",
            f"{p}/+/devices/+/state",
            f"{p}/+/relays/+/state",
            f"{p}/+/relays/+/result",
            f"{p}/+/all_to_safe/result",
            f"{p}/+/system",
            f"{p}/+/alarms/+/+/state",
            f"{p}/+/alarms/+/+/result",
            f"{p}/+/gateway_alarms/+/ack",
            f"{p}/+/service/+",
            f"{p}/+/late_samples",
            self.edge_links_filter(),
        ]

    def sample_filters(self) -> list[str]:
        """The part of ``telemetry_filters`` that comes often and is superseded by the next
        message (device and system states, retained): a live reader may take it at QoS 0."""
        p = self.prefix
        return [f"{p}/+/devices/+/state", f"{p}/+/system"]

    def gateway_output_filters(self, gateway: str) -> list[str]:
        """What one gateway publishes for others to read (an edge broker bridges them out):
        the telemetry filters for it alone, less what bridges publish under a gateway and
        the edges' links."""
        not_the_gateways = {
            self.gateway_alarm_acks_filter(),
            self.service_filter(),
            self.edge_links_filter(),
        }
        any_gateway, this_one = f"{self.prefix}/+/", f"{self._gw(gateway)}/"
        return [
            this_one + f.removeprefix(any_gateway)
            for f in self.telemetry_filters()
            if f not in not_the_gateways
        ]

    def gateway_input_filters(self, gateway: str) -> list[str]:
        """The commands one gateway takes (an edge broker bridges them in); the plant-wide
        rebirth request is not among them (``rebirth()``)."""
        return [
            self.command_filter(gateway),
            self.lock_filter(gateway),
            self.all_to_safe(gateway),
            self.alarm_command_filter(gateway),
        ]

    def command_filter(self, gateway: str) -> str:
        """The relay commands addressed to one gateway."""
        return f"{self._gw(gateway)}/relays/+/set"

    def lock_filter(self, gateway: str) -> str:
        """The lock commands addressed to one gateway."""
        return f"{self._gw(gateway)}/relays/+/lock"

    def all_locks_filter(self) -> str:
        return f"{self.prefix}/+/relays/+/lock"

    def all_to_safe_filter(self) -> str:
        return f"{self.prefix}/+/all_to_safe"

    def alarm_command_filter(self, gateway: str) -> str:
        """The alarm commands addressed to one gateway."""
        return f"{self._gw(gateway)}/alarms/+/+/set"

    def alarm_state_filter(self, gateway: str) -> str:
        """The retained alarm states of one gateway (it reads them back to clear those whose
        definition left its config)."""
        return f"{self._gw(gateway)}/alarms/+/+/state"

    def all_alarm_commands_filter(self) -> str:
        """The alarm commands addressed to any gateway (what bridges publish)."""
        return f"{self.prefix}/+/alarms/+/+/set"

    def gateway_alarm_acks_filter(self) -> str:
        """The shared acknowledgements of gateway alarms (what bridges publish and read)."""
        return f"{self.prefix}/+/gateway_alarms/+/ack"

    def service_filter(self) -> str:
        """Which devices are out of service (what bridges publish and read)."""
        return f"{self.prefix}/+/service/+"

    def gateway_filter(self, gateway: str) -> str:
        """Everything under one gateway (what its ACL lets it publish)."""
        return f"{self._gw(gateway)}/#"

    def all_commands_filter(self) -> str:
        """The relay commands addressed to any gateway."""
        return f"{self.prefix}/+/relays/+/set"

    def edge_links_filter(self) -> str:
        """Every edge broker's link state (bridge notifications, retained)."""
        return f"{self.prefix}/{EDGE_LINKS_LEVEL}/+/link"

    def everything_filter(self) -> str:
        """Every topic under the prefix."""
        return f"{self.prefix}/#"

    # Parsing ---------------------------------------------------------------

    def parse(self, topic: str) -> Topic:
        """Parse a concrete topic into its typed form; raise TopicError if it is not ours."""
        levels = topic.split("/")
        if levels[: self._levels] != self.prefix.split("/"):
            raise TopicError(topic, f"does not start with prefix {self.prefix!r}")
        rest = levels[self._levels :]
        if rest == ["rebirth"]:
            return RebirthTopic()
        if len(rest) == 3 and rest[0] == EDGE_LINKS_LEVEL and rest[2] == "link":
            self._check_id(topic, "edge", rest[1])
            return EdgeLinkTopic(rest[1])
        if not rest or not is_identifier(rest[0]):
            raise TopicError(topic, f"gateway id must match {ID_PATTERN}")
        gw, tail = rest[0], rest[1:]
        match tail:
            case ["status"]:
                return StatusTopic(gw)
            case ["meta"]:
                return MetaTopic(gw)
            case ["system"]:
                return SystemTopic(gw)
            case ["all_to_safe"]:
                return AllToSafeTopic(gw)
            case ["late_samples"]:
                return LateSamplesTopic(gw)
            case ["all_to_safe", "result"]:
                return AllToSafeResultTopic(gw)
            case ["devices", dev, "state"]:
                self._check_id(topic, "device", dev)
                return DeviceStateTopic(gw, dev)
            case ["relays", relay, kind] if kind in {"state", "set", "result", "lock"}:
                self._check_id(topic, "relay", relay)
                if kind == "state":
                    return RelayStateTopic(gw, relay)
                if kind == "set":
                    return RelaySetTopic(gw, relay)
                if kind == "lock":
                    return RelayLockTopic(gw, relay)
                return RelayResultTopic(gw, relay)
            case ["alarms", source, condition, kind] if kind in {"state", "set", "result"}:
                self._check_id(topic, "alarm source", source)
                checked = self._check_condition(topic, condition, DEVICE_ALARMS)
                if kind == "state":
                    return AlarmStateTopic(gw, source, checked)
                if kind == "set":
                    return AlarmSetTopic(gw, source, checked)
                return AlarmResultTopic(gw, source, checked)
            case ["service", dev]:
                self._check_id(topic, "device", dev)
                return ServiceTopic(gw, dev)
            case ["gateway_alarms", condition, "ack"]:
                return GatewayAlarmAckTopic(
                    gw, self._check_condition(topic, condition, GATEWAY_ALARMS)
                )
        raise TopicError(topic, "unknown topic shape")

    @staticmethod
    def _check_condition(topic: str, value: str, allowed: frozenset[str]) -> Condition:
        if value not in allowed:
            raise TopicError(topic, f"alarm condition {value!r} is not one of {sorted(allowed)}")
        return value  # type: ignore[return-value]

    @staticmethod
    def _check_id(topic: str, what: str, value: str) -> None:
        if not is_identifier(value):
            raise TopicError(topic, f"{what} id {value!r} must match {ID_PATTERN}")


# --------------------------------------------------------------------------- messages

Payload: TypeAlias = (
    Availability
    | GatewayMeta
    | DeviceState
    | RelayState
    | RelayCommand
    | LockCommand
    | AllToSafeCommand
    | CommandResult
    | SystemStats
    | AlarmState
    | AlarmCommand
    | GatewayAlarmAck
    | OutOfService
    | LateSamples
    | None
)


@dataclass(frozen=True, slots=True)
class Message:
    """A message that follows the contract: its parsed topic and validated payload."""

    topic: Topic
    payload: Payload


_PAYLOAD_FOR_TOPIC: Final[dict[type, type[ContractModel]]] = {
    MetaTopic: GatewayMeta,
    DeviceStateTopic: DeviceState,
    RelayStateTopic: RelayState,
    RelaySetTopic: RelayCommand,
    RelayResultTopic: CommandResult,
    RelayLockTopic: LockCommand,
    AllToSafeTopic: AllToSafeCommand,
    AllToSafeResultTopic: CommandResult,
    SystemTopic: SystemStats,
    AlarmStateTopic: AlarmState,
    AlarmSetTopic: AlarmCommand,
    AlarmResultTopic: CommandResult,
    GatewayAlarmAckTopic: GatewayAlarmAck,
    ServiceTopic: OutOfService,
    LateSamplesTopic: LateSamples,
}


def decode_json(topic: str, payload: bytes, model: type[ContractModel]) -> Any:
    """Validate one JSON payload against a model, naming what was wrong on failure."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(topic, f"{len(payload)} bytes exceeds the {MAX_PAYLOAD_BYTES} limit")
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(topic, f"not valid JSON ({exc})") from None
    except RecursionError:  # e.g. 60,000 '[' fit well under the size limit
        raise PayloadError(topic, "nested too deeply") from None
    if not isinstance(data, dict):
        raise PayloadError(topic, f"expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(topic, describe_validation_error(exc)) from None
    except RecursionError:
        raise PayloadError(topic, "nested too deeply") from None


def describe_validation_error(exc: ValidationError) -> str:
    """Every problem in one line, each naming the field and the offending value."""
    return "; ".join(problems(exc))


def decode(topics: Topics, topic: str, payload: bytes) -> Message:
    """Parse and validate one MQTT message; raise TopicError or PayloadError if it is not ours."""
    parsed = topics.parse(topic)
    if isinstance(parsed, StatusTopic):
        text = payload.decode("utf-8", errors="replace").strip()
        if text not in ("online", "offline"):
            raise PayloadError(topic, f"status must be 'online' or 'offline', got {text[:40]!r}")
        return Message(parsed, "online" if text == "online" else "offline")
    if isinstance(parsed, RebirthTopic):
        return Message(parsed, None)
    if isinstance(parsed, EdgeLinkTopic):
        flag = payload.strip()
        if flag not in (b"0", b"1"):
            raise PayloadError(topic, f"edge link state must be '1' or '0', got {flag[:40]!r}")
        return Message(parsed, "online" if flag == b"1" else "offline")
    if isinstance(parsed, AlarmStateTopic | GatewayAlarmAckTopic | ServiceTopic) and not payload:
        return Message(parsed, None)  # a retained alarm removed (its definition is gone)
    model = _PAYLOAD_FOR_TOPIC[type(parsed)]
    return Message(parsed, decode_json(topic, payload, model))


if __name__ == "__main__":  # pragma: no cover - used by `make schemas`
    import sys
    from pathlib import Path

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (out / f"{name}.schema.json").write_text(json.dumps(schema, indent=2) + "\n")
