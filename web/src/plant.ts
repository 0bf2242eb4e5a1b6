// The plant as the dashboard holds it, and the pure reducers that change it. No I/O here:
// the live client (client.ts) feeds these with what arrives over Socket.IO or HTTP.
import { mergeAlarms } from './alarms';
import type {
  Alarm,
  CommandOutcome,
  Delta,
  Device,
  DeviceValue,
  FullState,
  Gateway,
  GatewayStatus,
  HistoryPoint,
  Relay,
  SystemStats,
} from './types';

export interface PendingCommand {
  requested: boolean;
  sinceMs: number;
}

export interface CommandError {
  code: string;
  detail: string | null;
  atMs: number;
}

export interface PlantState {
  /** The bridge's version of what we hold; null until the first full state. */
  version: number | null;
  /** Changes whenever a gateway, device or relay appears (or a full state replaces all): what
   * is listed, and in which order, is worked out again only then, not with every value. */
  shape: number;
  gateways: Record<string, Gateway>;
  devices: Record<string, Device>;
  relays: Record<string, Relay>;
  systemStats: Record<string, SystemStats>;
  alarms: Record<string, Alarm>;
  history: Record<string, HistoryPoint[]>;
  pending: Record<string, PendingCommand>;
  commandErrors: Record<string, CommandError>;
}

export interface HistoryLimits {
  maxPoints: number;
  windowS: number;
}

export const emptyPlant: PlantState = {
  version: null,
  shape: 0,
  gateways: {},
  devices: {},
  relays: {},
  systemStats: {},
  alarms: {},
  history: {},
  pending: {},
  commandErrors: {},
};

export type DeltaOutcome = 'applied' | 'ignored' | 'gap';

export interface DeltaResult {
  state: PlantState;
  outcome: DeltaOutcome;
}

export const relayKey = (gateway: string, relay: string): string => `${gateway}/${relay}`;

function isPlottable(value: DeviceValue): value is number | boolean {
  return typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function trimHistory(points: HistoryPoint[], limits: HistoryLimits): HistoryPoint[] {
  const last = points[points.length - 1];
  if (last === undefined) return points;
  const oldest = last[0] - limits.windowS;
  let start = Math.max(0, points.length - limits.maxPoints);
  while (start < points.length && (points[start]?.[0] ?? 0) < oldest) start += 1;
  return start === 0 ? points : points.slice(start);
}

/** Adds a live reading to a device's history, keeping it ordered by time and bounded. */
export function extendHistory(
  points: HistoryPoint[] | undefined,
  device: Pick<Device, 'value' | 'ts' | 'quality'>,
  limits: HistoryLimits,
): HistoryPoint[] {
  const current = points ?? [];
  if (device.quality === 'bad' || device.ts === null || !isPlottable(device.value)) return current;
  const last = current[current.length - 1];
  // A repeated or out-of-order reading (e.g. a periodic re-publish) must not bend the line.
  if (last !== undefined && device.ts <= last[0]) return current;
  return trimHistory([...current, [device.ts, device.value]], limits);
}

/** Replaces everything the bridge owns with a full state; keeps the commands in flight. */
export function applyState(state: PlantState, full: FullState, limits: HistoryLimits): PlantState {
  const history: Record<string, HistoryPoint[]> = {};
  for (const [key, device] of Object.entries(full.devices)) {
    const given = (full.history?.[key] ?? []).filter(
      (p): p is HistoryPoint => Array.isArray(p) && typeof p[0] === 'number',
    );
    history[key] = extendHistory(trimHistory(given, limits), device, limits);
  }
  return {
    ...state,
    version: full.version,
    shape: state.shape + 1,
    gateways: { ...full.gateways },
    devices: { ...full.devices },
    relays: { ...full.relays },
    systemStats: { ...full.system_stats },
    // A bridge older than the alarms sends none.
    alarms: { ...(full.alarms ?? {}) },
    history,
  };
}

// Tables whose entries a delta merges field by field (alarms are replaced whole: mergeAlarms).
type Tables = Pick<PlantState, 'devices' | 'relays' | 'systemStats' | 'gateways'>;

/** A shallow copy. For a record of thousands of keys, half the time of `{ ...record }` in V8
 * (which must also look for symbols and getters): 2.7-3.3 vs 5.1-5.9 ms for 5,000 keys. */
function copyRecord<T>(record: Record<string, T>): Record<string, T> {
  const copy: Record<string, T> = {};
  for (const key in record) copy[key] = record[key] as T;
  return copy;
}

/** A delta's changes by key, per table of the plant. */
const CHANGES = {
  devices: 'devices',
  relays: 'relays',
  systemStats: 'system_stats',
  gateways: 'gateways',
} as const satisfies Record<keyof Tables, keyof Delta>;

/**
 * Applies a delta only if it continues exactly from the version held. An older or repeated
 * delta is ignored; anything else means something was missed and the caller must fetch the
 * full state.
 */
export function applyDelta(state: PlantState, delta: Delta, limits: HistoryLimits): DeltaResult {
  return applyDeltas(state, [delta], limits);
}

/**
 * Applies deltas in the order they arrived, each by the chain rule of `applyDelta`, stopping at
 * the first gap (the state then holds what came before it). A plant of thousands of devices
 * is held in records of thousands of keys: each record is copied once per batch, not once per
 * delta, so the cost of a batch grows with what changed, plus one copy.
 */
export function applyDeltas(
  state: PlantState,
  deltas: readonly Delta[],
  limits: HistoryLimits,
): DeltaResult {
  let version = state.version;
  let outcome: DeltaOutcome = 'ignored';
  let applied = false;
  let shape = state.shape;
  let alarms = state.alarms;
  const copies: Partial<Record<keyof Tables | 'history', Record<string, unknown>>> = {};
  const copyOf = <K extends keyof Tables | 'history'>(name: K): PlantState[K] => {
    let copy = copies[name];
    if (copy === undefined) {
      copy = copyRecord<unknown>(state[name]);
      copies[name] = copy;
    }
    return copy as PlantState[K];
  };
  for (const delta of deltas) {
    if (version === null || typeof delta.version !== 'number') {
      outcome = 'gap';
      break;
    }
    // The chain rule (docs/api.md): a delta applies when its prev is the version held, even
    // when its version is no newer (an event held back by coalescing, then version == prev).
    if (delta.prev !== version) {
      if (delta.version <= version) continue;
      outcome = 'gap';
      break;
    }
    version = delta.version;
    applied = true;
    outcome = 'applied';
    for (const [name, field] of Object.entries(CHANGES) as [keyof Tables, keyof Delta][]) {
      const changed = delta[field] as Record<string, object> | undefined;
      if (changed === undefined) continue;
      const table = copyOf(name) as Record<string, object>;
      for (const [key, value] of Object.entries(changed)) {
        const held = table[key];
        // A new gateway, device or relay (or stats of a gateway known only through them)
        // changes what is listed.
        if (held === undefined) shape += 1;
        table[key] = { ...held, ...value };
      }
    }
    alarms = mergeAlarms(alarms, delta.alarms);
    if (delta.devices !== undefined) {
      const devices = copyOf('devices');
      const history = copyOf('history');
      for (const key of Object.keys(delta.devices)) {
        const device = devices[key];
        if (device !== undefined) history[key] = extendHistory(history[key], device, limits);
      }
    }
  }
  if (!applied) return { state, outcome };
  return {
    outcome,
    state: { ...state, ...(copies as Partial<PlantState>), version, shape, alarms },
  };
}

/** Records that a command is on its way; the relay keeps showing its known state. */
export function markPending(
  state: PlantState,
  key: string,
  requested: boolean,
  nowMs: number,
): PlantState {
  const { [key]: _cleared, ...commandErrors } = state.commandErrors;
  return {
    ...state,
    pending: { ...state.pending, [key]: { requested, sinceMs: nowMs } },
    commandErrors,
  };
}

/** Ends a command: the relay shows what the gateway read back, and the error if it failed. */
export function resolveCommand(
  state: PlantState,
  key: string,
  outcome: CommandOutcome,
  nowMs: number,
): PlantState {
  const { [key]: _done, ...pending } = state.pending;
  const { [key]: _old, ...commandErrors } = state.commandErrors;
  if (!outcome.ok) {
    commandErrors[key] = { code: outcome.error ?? 'failed', detail: outcome.detail, atMs: nowMs };
  }
  let relays = state.relays;
  const relay = relays[key];
  if (relay !== undefined && typeof outcome.on === 'boolean' && relay.on !== outcome.on) {
    relays = { ...relays, [key]: { ...relay, on: outcome.on } };
  }
  return { ...state, pending, commandErrors, relays };
}

export function dismissError(state: PlantState, key: string): PlantState {
  const { [key]: _gone, ...commandErrors } = state.commandErrors;
  return { ...state, commandErrors };
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * Reads a command outcome from a Socket.IO ack or an HTTP answer. Anything that is not a
 * well-formed outcome becomes a failure naming what came back, never a success.
 */
export function normalizeOutcome(raw: unknown, httpStatus?: number): CommandOutcome {
  const body = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const on = typeof body.on === 'boolean' ? body.on : null;
  if (body.ok === true && (httpStatus === undefined || httpStatus < 400)) {
    return { ok: true, id: str(body.id), on, error: null, detail: str(body.detail) };
  }
  const where = httpStatus === undefined ? '' : ` (HTTP ${httpStatus})`;
  // A code from the bridge is one of the contract's (the body is what the bridge sent).
  const error =
    (str(body.error) as CommandOutcome['error']) ??
    (httpStatus === undefined ? 'bad_answer' : (`http_${httpStatus}` as const));
  const detail =
    str(body.detail) ??
    (typeof body.ok === 'boolean' || str(body.error) !== null
      ? null
      : `unexpected answer from the bridge${where}: ${JSON.stringify(raw)?.slice(0, 120)}`);
  return { ok: false, id: str(body.id), on, error, detail };
}

/** What to show for a gateway; one not known yet (seen only through data) counts as online. */
export function gatewayStatus(gateway: Gateway | undefined): GatewayStatus {
  if (gateway === undefined) return 'online';
  return gateway.status;
}

/** The gateways that are silent now, by display name, with when each was last heard. */
export function silentGateways(
  plant: PlantState,
): { id: string; name: string; since: number | null }[] {
  return Object.values(plant.gateways)
    .filter((g) => gatewayStatus(g) === 'silent')
    .map((g) => ({ id: g.id, name: g.name ?? g.id, since: g.silent_since ?? null }));
}

export interface CardState {
  state: 'good' | 'stale' | 'bad';
  gateway: GatewayStatus;
}

// One object per combination, so that a card whose look did not change gets the same object
// and a memoised panel or card sees nothing new.
const CARD_STATES: Record<GatewayStatus, Record<CardState['state'], CardState>> = {
  online: {
    good: card('good', 'online'),
    stale: card('stale', 'online'),
    bad: card('bad', 'online'),
  },
  silent: {
    good: card('good', 'silent'),
    stale: card('stale', 'silent'),
    bad: card('bad', 'silent'),
  },
  offline: {
    good: card('good', 'offline'),
    stale: card('stale', 'offline'),
    bad: card('bad', 'offline'),
  },
};

function card(state: CardState['state'], gateway: GatewayStatus): CardState {
  return Object.freeze({ state, gateway });
}

/** How a device card looks: stale when its gateway is offline or silent, or the bridge says so. */
export function deviceCardState(plant: PlantState, device: Device): CardState {
  const gateway = gatewayStatus(plant.gateways[device.gateway]);
  const byState = CARD_STATES[gateway];
  if (gateway !== 'online' || device.quality === 'stale') return byState.stale;
  if (device.quality === 'bad') return byState.bad;
  return byState.good;
}

export type SwitchState = 'on' | 'off' | 'pending' | 'error' | 'unknown';

export function relaySwitchState(plant: PlantState, key: string): SwitchState {
  if (plant.pending[key] !== undefined) return 'pending';
  if (plant.commandErrors[key] !== undefined) return 'error';
  const on = plant.relays[key]?.on;
  if (typeof on !== 'boolean') return 'unknown';
  return on ? 'on' : 'off';
}

/** Gateway ids in display order: those with meta first, then any only seen through data. */
export function gatewayIds(plant: PlantState): string[] {
  const ids = new Set(Object.keys(plant.gateways));
  for (const d of Object.values(plant.devices)) ids.add(d.gateway);
  for (const r of Object.values(plant.relays)) ids.add(r.gateway);
  for (const id of Object.keys(plant.systemStats)) if (id !== 'bridge') ids.add(id);
  return [...ids];
}
