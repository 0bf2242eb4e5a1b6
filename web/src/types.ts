// The bridge's Socket.IO/HTTP data shapes (docs/api.md). Keys: devices and relays are
// "<gateway>/<id>", gateways and system stats by gateway id (plus "bridge" for the bridge).

export type Quality = 'good' | 'bad' | 'stale';

/**
 * online: connected and speaking; silent: connected, but nothing received for `silent_after`
 * seconds (a hung process, a frozen board); offline: its last will, or no broker.
 */
export type GatewayStatus = 'online' | 'silent' | 'offline';

export interface Gateway {
  id: string;
  /** Its MQTT status (the connection); `status` says what to show. */
  online: boolean;
  name?: string | null;
  version?: string | null;
  ts?: number | null;
  /** Absent from bridges older than the silence watch: then `online` decides. */
  status?: GatewayStatus;
  /** While silent: when the bridge last received anything from it (Unix seconds). */
  silent_since?: number | null;
  silent_after?: number;
}

export type DeviceValue = number | boolean | null;

export interface Device {
  gateway: string;
  id: string;
  name?: string | null;
  kind?: string | null;
  unit?: string | null;
  value: DeviceValue;
  /** null until the first reading after the gateway announced the device. */
  ts: number | null;
  seq?: number | null;
  quality: Quality;
}

export interface Relay {
  gateway: string;
  id: string;
  name?: string | null;
  on: boolean | null;
  ts?: number | null;
  cmd?: string | null;
  quality?: Quality;
  safe_state?: boolean;
}

export interface SystemStats {
  cpu?: number | null;
  memory?: number | null;
  disk?: number | null;
  temperature?: number | null;
  load?: [number, number, number] | null;
  uptime?: number | null;
  ts?: number | null;
  quality?: Quality;
}

/** [unix seconds, value] */
export type HistoryPoint = [number, DeviceValue];

export interface FullState {
  version: number;
  gateways: Record<string, Gateway>;
  devices: Record<string, Device>;
  relays: Record<string, Relay>;
  system_stats: Record<string, SystemStats>;
  history?: Record<string, HistoryPoint[]>;
}

export type DeltaEvent =
  | 'devices_update'
  | 'relays_update'
  | 'system_stats_update'
  | 'gateways_update';

export const DELTA_EVENTS: readonly DeltaEvent[] = [
  'devices_update',
  'relays_update',
  'system_stats_update',
  'gateways_update',
];

export interface Delta {
  prev?: number | null;
  version: number;
  devices?: Record<string, Device>;
  relays?: Record<string, Relay>;
  system_stats?: Record<string, SystemStats>;
  gateways?: Record<string, Gateway>;
}

/** Outcome of a relay command: `on` is what the gateway read back, never the request. */
export interface CommandOutcome {
  ok: boolean;
  id: string | null;
  on: boolean | null;
  error: string | null;
  detail: string | null;
}

export interface EventsAnswer {
  version: number;
  resync?: boolean;
  events?: { event: string; data: Delta }[];
}
