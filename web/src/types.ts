// The bridge's Socket.IO/HTTP data shapes, under the names the dashboard uses. They are
// generated from the bridge's contract (bridge/contract.py): change them there, then run
// `make schemas`. Keys: devices and relays are "<gateway>/<id>", gateways and system stats
// by gateway id (plus "bridge" for the bridge itself).

import type {
  ApiErrorCode,
  CommandOutcome as BridgeOutcome,
  ErrorCode,
  Event,
} from './generated/contract';

export type {
  AlarmAction,
  AlarmEntry as Alarm,
  AlarmRequest,
  Delta,
  DeviceEntry as Device,
  DeviceValue,
  EventLogEntry,
  EventLogFilter,
  EventLogPage,
  EventLogSubscription,
  EventLogUpdate,
  EventsAnswer,
  FullState,
  GatewayEntry as Gateway,
  GatewayStatus,
  HistoryPoint,
  Priority,
  Quality,
  RelayEntry as Relay,
  ServiceRequest,
  SystemStatsEntry as SystemStats,
} from './generated/contract';
export type DeltaEvent = Event;

/** Outcomes the dashboard itself decides: an answer it could not read, an HTTP status. */
export type ClientErrorCode = 'bad_answer' | `http_${number}`;

/** A relay command's outcome as the dashboard holds it: the bridge's, or its own failure. */
export interface CommandOutcome extends Omit<BridgeOutcome, 'error'> {
  error: ErrorCode | ApiErrorCode | ClientErrorCode | null;
}

// Written out once; `satisfies` makes the compiler reject a list that misses an event.
const deltaEvents = {
  devices_update: true,
  relays_update: true,
  system_stats_update: true,
  gateways_update: true,
  alarms_update: true,
} as const satisfies Record<DeltaEvent, true>;

export const DELTA_EVENTS = Object.keys(deltaEvents) as readonly DeltaEvent[];
