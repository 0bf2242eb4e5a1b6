// Generated from bridge/contract.py (via contract.schema.json) by `make schemas`. Do not edit.

/**
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "GatewayStatus".
 */
export type GatewayStatus = 'online' | 'silent' | 'offline';
/**
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "DeviceValue".
 */
export type DeviceValue = number | boolean | null;
/**
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "Quality".
 */
export type Quality = 'good' | 'bad' | 'stale';
/**
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "AlarmCondition".
 */
export type AlarmCondition =
  | 'lolo'
  | 'lo'
  | 'hi'
  | 'hihi'
  | 'state'
  | 'bad_quality'
  | 'readback_mismatch'
  | 'command_failed'
  | 'offline'
  | 'silent';
/**
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "Priority".
 */
export type Priority = 'critical' | 'high' | 'medium' | 'low';
/**
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "AlarmPhase".
 */
export type AlarmPhase = 'normal' | 'unacked' | 'acked' | 'rtn_unacked';
/**
 * @minItems 2
 * @maxItems 2
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "HistoryPoint".
 */
export type HistoryPoint = [number, number | boolean | null];
/**
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "Event".
 */
export type Event =
  | 'devices_update'
  | 'relays_update'
  | 'system_stats_update'
  | 'gateways_update'
  | 'alarms_update';
/**
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "ErrorCode".
 */
export type ErrorCode =
  | 'invalid'
  | 'unknown_relay'
  | 'expired'
  | 'duplicate'
  | 'too_soon'
  | 'readback_mismatch'
  | 'hardware_error'
  | 'interlocked'
  | 'locked'
  | 'timeout'
  | 'gateway_offline'
  | 'gateway_silent'
  | 'not_connected'
  | 'forbidden'
  | 'rate_limited'
  | 'unknown_alarm'
  | 'unknown_device';
/**
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "AlarmAction".
 */
export type AlarmAction = 'acknowledge' | 'shelve' | 'unshelve';
/**
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "ApiErrorCode".
 */
export type ApiErrorCode =
  | 'invalid'
  | 'unauthorized'
  | 'bad_credentials'
  | 'forbidden'
  | 'forbidden_origin'
  | 'csrf_failed'
  | 'unknown_device'
  | 'unknown_relay'
  | 'unknown_alarm'
  | 'not_found'
  | 'method_not_allowed'
  | 'request_entity_too_large'
  | 'rate_limited'
  | 'internal_server_error';
/**
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "EventKind".
 */
export type EventKind = 'alarm' | 'command' | 'gateway' | 'bridge';

/**
 * Every type of the API, so that one schema (and one generated file) holds them all.
 */
export interface BridgeApi {
  full_state: FullState;
  delta: Delta;
  event: Event;
  set_relay: SetRelayRequest;
  lock_relay: LockRequest;
  all_to_safe: AllToSafeRequest;
  all_to_safe_outcome: AllToSafeOutcome;
  alarm_request: AlarmRequest;
  service_request: ServiceRequest;
  alarm_entry: AlarmEntry;
  command_outcome: CommandOutcome;
  error_code: ErrorCode;
  api_error: ApiError;
  events_answer: EventsAnswer;
  history_point: HistoryPoint;
  event_log_page: EventLogPage;
  event_log_filter: EventLogFilter;
  event_log_subscription: EventLogSubscription;
  event_log_update: EventLogUpdate;
}
/**
 * The ``state`` event, ``request_state``'s answer and ``GET /api/state``.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "FullState".
 */
export interface FullState {
  version: number;
  gateways: {
    [k: string]: GatewayEntry;
  };
  devices: {
    [k: string]: DeviceEntry;
  };
  relays: {
    [k: string]: RelayEntry;
  };
  system_stats: {
    [k: string]: SystemStatsEntry;
  };
  alarms: {
    [k: string]: AlarmEntry;
  };
  history?: {
    [k: string]: HistoryPoint[];
  };
}
/**
 * A gateway as the dashboard shows it; keyed by the gateway's id.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "GatewayEntry".
 */
export interface GatewayEntry {
  id: string;
  online: boolean;
  name: string | null;
  version: string | null;
  ts: number;
  status: GatewayStatus;
  silent_since: number | null;
  silent_after: number | null;
  interlocks?: InterlockEntry[];
  device_order: string[];
  relay_order: string[];
}
/**
 * One interlock the gateway enforces (from its meta; docs/mqtt-contract.md).
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "InterlockEntry".
 */
export interface InterlockEntry {
  id: string;
  kind: 'requires' | 'excludes' | 'permissive';
  relay: string;
  other: string;
  state: boolean;
  text: string;
}
/**
 * A sensor or digital input; keyed ``"<gateway>/<id>"``.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "DeviceEntry".
 */
export interface DeviceEntry {
  gateway: string;
  id: string;
  name: string | null;
  kind: string | null;
  unit: string | null;
  value: DeviceValue;
  ts: number | null;
  seq: number | null;
  quality: Quality;
  out_of_service?: OutOfServiceEntry | null;
}
/**
 * Who took a device out of service, when and why.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "OutOfServiceEntry".
 */
export interface OutOfServiceEntry {
  by: string;
  since: number;
  reason: string;
}
/**
 * A relay output; ``on`` is the level read back from its pin, never a request.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "RelayEntry".
 */
export interface RelayEntry {
  gateway: string;
  id: string;
  name: string | null;
  on: boolean | null;
  ts: number | null;
  seq: number | null;
  cmd: string | null;
  reason?: string | null;
  quality: Quality;
  safe_state: boolean | null;
  confirm?: boolean;
  lock?: RelayLockEntry | null;
  rule?: string | null;
  cycles?: number | null;
  on_time_s?: number | null;
}
/**
 * A maintenance lock (lock-out / tag-out): every command to the relay is refused.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "RelayLockEntry".
 */
export interface RelayLockEntry {
  by: string;
  reason: string;
  since: number;
}
/**
 * A gateway's host (or, under the key ``"bridge"``, the bridge process itself).
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "SystemStatsEntry".
 */
export interface SystemStatsEntry {
  cpu?: number | null;
  memory?: number | null;
  disk?: number | null;
  temperature?: number | null;
  load?: number[] | null;
  uptime?: number | null;
  command_latency_s?: number | null;
  ts?: number | null;
  quality?: Quality;
}
/**
 * One alarm; keyed ``"<gateway>/<source>/<condition>"``. ``source`` is a device or relay
 * id, or ``gateway`` for the gateway's own ``offline`` and ``silent`` alarms (which every
 * bridge derives alike, docs/mqtt-contract.md "Alarms").
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "AlarmEntry".
 */
export interface AlarmEntry {
  gateway: string;
  source: string;
  condition: AlarmCondition;
  priority: Priority;
  active: boolean;
  acked: boolean;
  state: AlarmPhase;
  since: number;
  raised: number | null;
  value: DeviceValue;
  limit: number | null;
  message: string | null;
  acked_by: string | null;
  acked_at: number | null;
  shelved_until: number | null;
  shelved_by: string | null;
  shelve_reason: string | null;
  suppressed: boolean;
  ts: number;
}
/**
 * A ``*_update`` event: only what changed since ``prev``.
 *
 * A client applies it only when ``prev`` is the version it holds. The answers to
 * ``request_*`` carry no ``prev``: they hold the whole kind, not a change.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "Delta".
 */
export interface Delta {
  prev?: number | null;
  version: number;
  devices?: {
    [k: string]: DeviceEntry;
  };
  relays?: {
    [k: string]: RelayEntry;
  };
  system_stats?: {
    [k: string]: SystemStatsEntry;
  };
  gateways?: {
    [k: string]: GatewayEntry;
  };
  alarms?: {
    [k: string]: AlarmEntry | null;
  };
}
/**
 * ``set_relay``'s argument (Socket.IO) and, less the ids, the HTTP body.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "SetRelayRequest".
 */
export interface SetRelayRequest {
  gateway: string;
  relay: string;
  on: boolean;
  confirmed?: boolean;
}
/**
 * ``lock_relay``'s argument and, less the ids, the body of
 * ``POST /api/relays/<gateway>/<relay>/lock``. The lock's author is the caller.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "LockRequest".
 */
export interface LockRequest {
  gateway: string;
  relay: string;
  lock: boolean;
  reason?: string;
}
/**
 * ``all_to_safe``'s argument and the body of ``POST /api/all-to-safe``: one gateway, or
 * (without ``gateway``) every gateway of the plant. Not a safety-rated emergency stop.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "AllToSafeRequest".
 */
export interface AllToSafeRequest {
  gateway?: string;
}
/**
 * ``all_to_safe``'s answer: ``ok`` when every gateway asked has confirmed.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "AllToSafeOutcome".
 */
export interface AllToSafeOutcome {
  ok: boolean;
  gateways: {
    [k: string]: CommandOutcome;
  };
}
/**
 * A relay command's outcome: the ``set_relay`` ack and the HTTP answer.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "CommandOutcome".
 */
export interface CommandOutcome {
  ok: boolean;
  id: string | null;
  on: boolean | null;
  error: ErrorCode | null;
  detail: string | null;
}
/**
 * ``alarm_command``'s argument (Socket.IO) and ``POST /api/alarms/command``'s body.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "AlarmRequest".
 */
export interface AlarmRequest {
  gateway: string;
  source: string;
  condition: AlarmCondition;
  action: AlarmAction;
  until?: number;
  reason?: string;
}
/**
 * ``set_service``'s argument and, less the ids, ``POST /api/devices/<gw>/<id>/service``.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "ServiceRequest".
 */
export interface ServiceRequest {
  gateway: string;
  device: string;
  in_service: boolean;
  reason?: string;
}
/**
 * Every error under ``/api`` and ``/metrics``.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "ApiError".
 */
export interface ApiError {
  error: ApiErrorCode;
  detail: string;
}
/**
 * ``GET /api/events?since=``: the deltas after a version, or ``resync``.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "EventsAnswer".
 */
export interface EventsAnswer {
  version: number;
  resync?: boolean;
  events?: TimedEvent[];
}
/**
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "TimedEvent".
 */
export interface TimedEvent {
  event: Event;
  data: Delta;
}
/**
 * ``GET /api/event-log``'s answer, and the page ``subscribe_event_log`` answers with:
 * newest first.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "EventLogPage".
 */
export interface EventLogPage {
  entries: EventLogEntry[];
  total: number;
  offset: number;
  next_offset: number | null;
}
/**
 * One entry of the operators' event log.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "EventLogEntry".
 */
export interface EventLogEntry {
  id: number;
  time: string;
  ts: number;
  kind: EventKind;
  gateway: string | null;
  subject: string | null;
  action: string;
  user: string | null;
  text: string;
}
/**
 * ``subscribe_event_log``'s argument: the filters of ``GET /api/event-log`` (all
 * optional); the pushes that follow carry only entries that pass them.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "EventLogFilter".
 */
export interface EventLogFilter {
  gateway?: string;
  kind?: EventKind;
  since?: number;
  until?: number;
  limit?: number;
}
/**
 * ``subscribe_event_log``'s answer: the first page, or why not (``invalid`` names the
 * filter that was wrong).
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "EventLogSubscription".
 */
export interface EventLogSubscription {
  ok: boolean;
  error: 'invalid' | null;
  detail: string | null;
  page: EventLogPage | null;
}
/**
 * ``event_log_update``: the entries written since the last push that pass the client's
 * filters, newest first; at most one push per flush of the log (1 s by default) however
 * many events a flood brings. ``skipped`` entries passed too but were left out of this
 * push (only the newest ``MAX_PUSHED`` go out); the page's total grows by both.
 *
 * This interface was referenced by `BridgeApi`'s JSON-Schema
 * via the `definition` "EventLogUpdate".
 */
export interface EventLogUpdate {
  entries: EventLogEntry[];
  skipped: number;
}
