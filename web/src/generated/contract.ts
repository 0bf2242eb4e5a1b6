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
export type Event = 'devices_update' | 'relays_update' | 'system_stats_update' | 'gateways_update';
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
  | 'timeout'
  | 'gateway_offline'
  | 'gateway_silent'
  | 'not_connected'
  | 'forbidden'
  | 'rate_limited';
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
  | 'not_found'
  | 'method_not_allowed'
  | 'request_entity_too_large'
  | 'rate_limited'
  | 'internal_server_error';

/**
 * Every type of the API, so that one schema (and one generated file) holds them all.
 */
export interface BridgeApi {
  full_state: FullState;
  delta: Delta;
  event: Event;
  set_relay: SetRelayRequest;
  command_outcome: CommandOutcome;
  error_code: ErrorCode;
  api_error: ApiError;
  events_answer: EventsAnswer;
  history_point: HistoryPoint;
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
  device_order: string[];
  relay_order: string[];
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
  ts?: number | null;
  quality?: Quality;
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
