"""The bridge's public API to browsers and scripts: Socket.IO events and HTTP payloads.

The one owner of what a dashboard receives and sends, as ``factory_core.contract`` is of
what travels over MQTT. Entries are ``TypedDict``s: typed for mypy, plain dicts at run time
(the store builds one per MQTT message, at 20,000 a second, so no model is validated on the
way out). ``python -m bridge.contract`` writes their JSON Schema to
``web/src/generated/contract.schema.json``; the dashboard's TypeScript types are generated
from that file by json-schema-to-typescript (``make schemas``), and tests fail when either
drifts from this module.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Final, Literal, NotRequired, TypeAlias, get_args

from pydantic import TypeAdapter
from typing_extensions import TypedDict  # pydantic reads only this one on Python < 3.12

from factory_core.alarms import Condition, Phase, Priority
from factory_core.contract import AlarmAction, ErrorCode

# --------------------------------------------------------------------------- entries

Quality: TypeAlias = Literal["good", "bad", "stale"]
# online: connected and speaking; silent: connected, but nothing received for ``silent_after``
# seconds (a hung process, a frozen board); offline: its last will, or no broker.
GatewayStatus: TypeAlias = Literal["online", "silent", "offline"]
DeviceValue: TypeAlias = float | bool | None


class InterlockEntry(TypedDict):
    """One interlock the gateway enforces (from its meta; docs/mqtt-contract.md)."""

    id: str
    kind: Literal["requires", "excludes", "permissive"]
    relay: str  # the relay the rule constrains being on
    other: str  # requires: the relay that must be on; excludes: that must be off; permissive:
    # the digital input that must read ``state``
    state: bool
    text: str  # the rule in words, as the gateway's refusals name it


class RelayLockEntry(TypedDict):
    """A maintenance lock (lock-out / tag-out): every command to the relay is refused."""

    by: str
    reason: str
    since: float  # Unix time


class GatewayEntry(TypedDict):
    """A gateway as the dashboard shows it; keyed by the gateway's id."""

    id: str
    online: bool  # its MQTT status (the connection); ``status`` says what to show
    name: str | None
    version: str | None
    ts: float
    status: GatewayStatus
    silent_since: float | None  # while silent: when anything last came from it (Unix time)
    silent_after: float | None  # its silence window, s; None: it declares no cadence
    interlocks: NotRequired[list[InterlockEntry]]  # from its meta
    # The order its meta lists its devices and relays in (ids; empty before its meta): the
    # dashboard shows them in this order, whichever message happened to arrive first.
    device_order: list[str]
    relay_order: list[str]


class OutOfServiceEntry(TypedDict):
    """Who took a device out of service, when and why."""

    by: str
    since: float
    reason: str


class DeviceEntry(TypedDict):
    """A sensor or digital input; keyed ``"<gateway>/<id>"``."""

    gateway: str
    id: str
    name: str | None
    kind: str | None
    unit: str | None
    value: DeviceValue
    ts: float | None  # None until the first reading after the gateway announced the device
    seq: int | None
    quality: Quality  # good; bad: the sensor could not be read; stale: the gateway is gone
    # Taken out of service by an operator: its alarms are suppressed, its values marked.
    out_of_service: NotRequired[OutOfServiceEntry | None]


class RelayEntry(TypedDict):
    """A relay output; ``on`` is the level read back from its pin, never a request."""

    gateway: str
    id: str
    name: str | None
    on: bool | None
    ts: float | None
    seq: int | None
    cmd: str | None
    reason: NotRequired[str | None]
    quality: Quality
    safe_state: bool | None
    confirm: NotRequired[bool]  # ask the operator to confirm before switching
    lock: NotRequired[RelayLockEntry | None]
    rule: NotRequired[str | None]  # reason "trip": the interlock rule that tripped it
    cycles: NotRequired[int | None]  # switching cycles over its life
    on_time_s: NotRequired[float | None]  # seconds on over its life


class SystemStatsEntry(TypedDict):
    """A gateway's host (or, under the key ``"bridge"``, the bridge process itself)."""

    cpu: NotRequired[float | None]
    memory: NotRequired[float | None]
    disk: NotRequired[float | None]
    temperature: NotRequired[float | None]
    load: NotRequired[list[float] | None]  # 1, 5 and 15 minutes
    uptime: NotRequired[float | None]
    command_latency_s: NotRequired[float | None]  # the last command: receipt to pin read back
    ts: NotRequired[float | None]
    quality: NotRequired[Quality]


class AlarmEntry(TypedDict):
    """One alarm; keyed ``"<gateway>/<source>/<condition>"``. ``source`` is a device or relay
    id, or ``gateway`` for the gateway's own ``offline`` and ``silent`` alarms (which every
    bridge derives alike, docs/mqtt-contract.md "Alarms")."""

    gateway: str
    source: str
    condition: Condition
    priority: Priority
    active: bool
    acked: bool
    state: Phase  # normal, unacked, acked, rtn_unacked (ISA-18.2)
    since: float  # when the current state began (Unix time)
    raised: float | None  # when the condition last arrived
    value: DeviceValue  # the device's value at the last transition
    limit: float | None
    message: str | None
    acked_by: str | None
    acked_at: float | None
    shelved_until: float | None  # shelved: hidden until then; it returns by itself
    shelved_by: str | None
    shelve_reason: str | None
    # Its gateway is offline or silent (consequential), or its device is out of service: not
    # raised anew, not counted, not announced; shown as suppressed.
    suppressed: bool
    ts: float


HistoryPoint: TypeAlias = tuple[float, DeviceValue]  # (unix seconds, value)

# --------------------------------------------------------------------------- Socket.IO

Event: TypeAlias = Literal[
    "devices_update", "relays_update", "system_stats_update", "gateways_update", "alarms_update"
]
STATE_EVENT: Final = "state"
# Each delta event carries its changes under one field, named as in the full state.
FIELD: Final[dict[Event, str]] = {
    "devices_update": "devices",
    "relays_update": "relays",
    "system_stats_update": "system_stats",
    "gateways_update": "gateways",
    "alarms_update": "alarms",
}
EVENTS: Final[tuple[Event, ...]] = tuple(FIELD)
# The seed's requests, each answered with its ``*_update`` event as well as the ack.
REQUESTS: Final[dict[str, Event]] = {
    "request_devices": "devices_update",
    "request_relays": "relays_update",
    "request_system_stats": "system_stats_update",
    "request_gateways": "gateways_update",
    "request_alarms": "alarms_update",
}


class FullState(TypedDict):
    """The ``state`` event, ``request_state``'s answer and ``GET /api/state``."""

    version: int
    gateways: dict[str, GatewayEntry]
    devices: dict[str, DeviceEntry]
    relays: dict[str, RelayEntry]
    system_stats: dict[str, SystemStatsEntry]
    alarms: dict[str, AlarmEntry]
    history: NotRequired[dict[str, list[HistoryPoint]]]


class Delta(TypedDict):
    """A ``*_update`` event: only what changed since ``prev``.

    A client applies it only when ``prev`` is the version it holds. The answers to
    ``request_*`` carry no ``prev``: they hold the whole kind, not a change.
    """

    prev: NotRequired[int | None]
    version: int
    devices: NotRequired[dict[str, DeviceEntry]]
    relays: NotRequired[dict[str, RelayEntry]]
    system_stats: NotRequired[dict[str, SystemStatsEntry]]
    gateways: NotRequired[dict[str, GatewayEntry]]
    # An alarm whose value is null was removed: its retained topic was cleared because its
    # definition left the gateway's config (docs/mqtt-contract.md "Alarms").
    alarms: NotRequired[dict[str, AlarmEntry | None]]


# --------------------------------------------------------------------------- the event log

EventKind: TypeAlias = Literal["alarm", "command", "gateway", "bridge"]
# Pushed to the clients that subscribed to the event log, coalesced (docs/api.md).
EVENT_LOG_EVENT: Final = "event_log_update"


class EventLogEntry(TypedDict):
    """One entry of the operators' event log."""

    id: int  # increasing: a client merging a page and pushes keeps each id once
    time: str  # ISO 8601, UTC
    ts: float
    kind: EventKind
    gateway: str | None
    subject: str | None  # "oven/hi", a relay id, a device id...
    action: str  # raised, acknowledged, cleared, normal, shelved, switch_on, offline, started...
    user: str | None
    text: str


class EventLogPage(TypedDict):
    """``GET /api/event-log``'s answer, and the page ``subscribe_event_log`` answers with:
    newest first."""

    entries: list[EventLogEntry]
    total: int
    offset: int
    next_offset: int | None


class EventLogFilter(TypedDict):
    """``subscribe_event_log``'s argument: the filters of ``GET /api/event-log`` (all
    optional); the pushes that follow carry only entries that pass them."""

    gateway: NotRequired[str]
    kind: NotRequired[EventKind]
    since: NotRequired[float]  # Unix s, inclusive
    until: NotRequired[float]  # Unix s, exclusive
    limit: NotRequired[int]  # of the first page, 1-1000 (100)


class EventLogSubscription(TypedDict):
    """``subscribe_event_log``'s answer: the first page, or why not (``invalid`` names the
    filter that was wrong)."""

    ok: bool
    error: Literal["invalid"] | None
    detail: str | None
    page: EventLogPage | None


class EventLogUpdate(TypedDict):
    """``event_log_update``: the entries written since the last push that pass the client's
    filters, newest first; at most one push per flush of the log (1 s by default) however
    many events a flood brings. ``skipped`` entries passed too but were left out of this
    push (only the newest ``MAX_PUSHED`` go out); the page's total grows by both."""

    entries: list[EventLogEntry]
    skipped: int


class SetRelayRequest(TypedDict):
    """``set_relay``'s argument (Socket.IO) and, less the ids, the HTTP body."""

    gateway: str
    relay: str
    on: bool
    confirmed: NotRequired[bool]  # the operator confirmed it (recorded in the audit)


class LockRequest(TypedDict):
    """``lock_relay``'s argument and, less the ids, the body of
    ``POST /api/relays/<gateway>/<relay>/lock``. The lock's author is the caller."""

    gateway: str
    relay: str
    lock: bool  # true: lock in the current state; false: unlock (its locker or an admin)
    reason: NotRequired[str]  # required to lock


class AllToSafeRequest(TypedDict):
    """``all_to_safe``'s argument and the body of ``POST /api/all-to-safe``: one gateway, or
    (without ``gateway``) every gateway of the plant. Not a safety-rated emergency stop."""

    gateway: NotRequired[str]


class AlarmRequest(TypedDict):
    """``alarm_command``'s argument (Socket.IO) and ``POST /api/alarms/command``'s body."""

    gateway: str
    source: str
    condition: Condition
    action: AlarmAction
    until: NotRequired[float]  # shelve: Unix time when the shelf ends
    reason: NotRequired[str]  # shelve: why (required)


class ServiceRequest(TypedDict):
    """``set_service``'s argument and, less the ids, ``POST /api/devices/<gw>/<id>/service``."""

    gateway: str
    device: str
    in_service: bool
    reason: NotRequired[str]  # required to take a device out of service


class CommandOutcome(TypedDict):
    """A relay command's outcome: the ``set_relay`` ack and the HTTP answer."""

    ok: bool
    id: str | None  # the command id sent to the gateway
    on: bool | None  # the state read back from the pin; never the requested one
    error: ErrorCode | None
    detail: str | None


class AllToSafeOutcome(TypedDict):
    """``all_to_safe``'s answer: ``ok`` when every gateway asked has confirmed."""

    ok: bool
    gateways: dict[str, CommandOutcome]


# --------------------------------------------------------------------------- HTTP

ApiErrorCode: TypeAlias = Literal[
    "invalid",  # a parameter or body is malformed; detail names it
    "unauthorized",  # no session and no token
    "bad_credentials",
    "forbidden",  # the caller's role may not do this
    "forbidden_origin",  # a state-changing request from an origin not allowed
    "csrf_failed",
    "unknown_device",
    "unknown_relay",
    "unknown_alarm",
    "not_found",
    "method_not_allowed",
    "request_entity_too_large",
    "rate_limited",
    "internal_server_error",
]
# What an HTTP status that Flask raises itself is called in an ``ApiError``.
API_ERROR_FOR_STATUS: Final[dict[int, ApiErrorCode]] = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_entity_too_large",
    429: "rate_limited",
    500: "internal_server_error",
}


class ApiError(TypedDict):
    """Every error under ``/api`` and ``/metrics``."""

    error: ApiErrorCode
    detail: str


class TimedEvent(TypedDict):
    event: Event
    data: Delta


class EventsAnswer(TypedDict):
    """``GET /api/events?since=``: the deltas after a version, or ``resync``."""

    version: int
    resync: NotRequired[bool]
    events: NotRequired[list[TimedEvent]]


# --------------------------------------------------------------------------- generation

ERROR_CODES: Final[tuple[str, ...]] = get_args(ErrorCode)
API_ERROR_CODES: Final[tuple[str, ...]] = get_args(ApiErrorCode)


class BridgeApi(TypedDict):
    """Every type of the API, so that one schema (and one generated file) holds them all."""

    full_state: FullState
    delta: Delta
    event: Event
    set_relay: SetRelayRequest
    lock_relay: LockRequest
    all_to_safe: AllToSafeRequest
    all_to_safe_outcome: AllToSafeOutcome
    alarm_request: AlarmRequest
    service_request: ServiceRequest
    alarm_entry: AlarmEntry
    command_outcome: CommandOutcome
    error_code: ErrorCode
    api_error: ApiError
    events_answer: EventsAnswer
    history_point: HistoryPoint
    event_log_page: EventLogPage
    event_log_filter: EventLogFilter
    event_log_subscription: EventLogSubscription
    event_log_update: EventLogUpdate


SCHEMA_PATH: Final = Path("web/src/generated/contract.schema.json")
# Aliases that pydantic writes inline; they get a name of their own in the schema so that
# the generated TypeScript has ``Event``, ``ErrorCode``, ... rather than repeated unions.
_NAMED_ALIASES: Final[dict[str, Any]] = {
    "Quality": Quality,
    "GatewayStatus": GatewayStatus,
    "Priority": Priority,
    "AlarmCondition": Condition,
    "AlarmPhase": Phase,
    "AlarmAction": AlarmAction,
    "DeviceValue": DeviceValue,
    "HistoryPoint": HistoryPoint,
    "Event": Event,
    "EventKind": EventKind,
    "ErrorCode": ErrorCode,
    "ApiErrorCode": ApiErrorCode,
}


def _untitled(node: Any) -> Any:
    """The schema without the per-field titles pydantic adds (each would become a TS type)."""
    if isinstance(node, dict):
        return {k: _untitled(v) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [_untitled(v) for v in node]
    return node


def _tuples_as_items(node: Any) -> Any:
    """Tuples as draft-07 writes them (``items`` as a list), which the TS generator reads."""
    if isinstance(node, dict):
        out = {k: _tuples_as_items(v) for k, v in node.items() if k != "prefixItems"}
        if "prefixItems" in node:
            out["items"] = _tuples_as_items(node["prefixItems"])
            out["additionalItems"] = False
        return out
    if isinstance(node, list):
        return [_tuples_as_items(v) for v in node]
    return node


def _refer(node: Any, named: dict[str, Any]) -> Any:
    """Every inline copy of a named alias replaced by a reference to it."""
    for name, schema in named.items():
        if node == schema:
            return {"$ref": f"#/$defs/{name}"}
    if isinstance(node, dict):
        return {k: _refer(v, named) for k, v in node.items()}
    if isinstance(node, list):
        return [_refer(v, named) for v in node]
    return node


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``BridgeApi``: each type and named alias one entry of ``$defs``."""

    def plain(schema: dict[str, Any]) -> Any:
        return _tuples_as_items(_untitled(schema))

    raw = plain(TypeAdapter(BridgeApi).json_schema(mode="serialization"))
    named = {n: plain(TypeAdapter(t).json_schema()) for n, t in _NAMED_ALIASES.items()}
    defs = {name: {"title": name, **_refer(d, named)} for name, d in raw.pop("$defs").items()}
    defs.update({name: {"title": name, **schema} for name, schema in named.items()})
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$comment": "generated from bridge/contract.py by `make schemas`; do not edit",
        "title": "BridgeApi",
        **_refer(raw, named),
        "$defs": dict(sorted(defs.items())),
    }


def openapi_schemas(names: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """OpenAPI components for the given ``{component name: contract type}``, with every type
    they refer to (OpenAPI 3.1 reads JSON Schema 2020-12 as pydantic writes it)."""
    components: dict[str, dict[str, Any]] = {}
    for name, typ in names.items():
        schema = TypeAdapter(typ).json_schema(
            mode="serialization", ref_template="#/components/schemas/{model}"
        )
        components.update(schema.pop("$defs", {}))
        components[name] = schema
    return components


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # pragma: no cover - used by `make schemas`
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_PATH
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(schema_text())
