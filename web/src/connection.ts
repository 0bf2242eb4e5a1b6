// Which way the dashboard gets its data, and what the header says about it. A small state
// machine: the live client feeds it socket and timer events and does what the mode asks.
import { formatAge, formatUtc } from './format';

export type Mode = 'connecting' | 'realtime' | 'reconnecting' | 'fallback';

export type ConnectionEvent = 'socket_up' | 'socket_down' | 'fallback_timeout';

export function nextMode(mode: Mode, event: ConnectionEvent): Mode {
  switch (event) {
    case 'socket_up':
      return 'realtime';
    case 'socket_down':
      return mode === 'realtime' ? 'reconnecting' : mode;
    case 'fallback_timeout':
      return mode === 'connecting' || mode === 'reconnecting' ? 'fallback' : mode;
  }
}

/** While waiting for a socket, the fallback timer runs; it fires `fallback_timeout`. */
export const awaitsSocket = (mode: Mode): boolean =>
  mode === 'connecting' || mode === 'reconnecting';

/** The socket keeps retrying in the background in every mode; HTTP polls only in fallback. */
export const polls = (mode: Mode): boolean => mode === 'fallback';

export interface FreshnessConfig {
  /** In real time, the bridge's heartbeat proves the data current at least this often. */
  realtimeFreshMs: number;
  /** Over HTTP, a poll answer proves the data current. */
  pollFreshMs: number;
}

export type Tone = 'ok' | 'warn' | 'error';

export interface SilentGateway {
  name: string;
  /** When it was last heard from, Unix seconds. */
  since: number | null;
}

export interface Indicator {
  label: string;
  tone: Tone;
  age: string;
  stale: boolean;
  detail: string | null;
  /** The detail's tooltip: absolute times for what it names. */
  detailTitle: string | null;
}

const LABELS: Record<Mode, [string, Tone]> = {
  connecting: ['Connecting…', 'warn'],
  realtime: ['Real-time Connected', 'ok'],
  reconnecting: ['Reconnecting…', 'warn'],
  fallback: ['HTTP Fallback Mode', 'error'],
};

/** What the header shows: the mode and the age of the newest data, so it is never silently stale. */
export function indicator(
  mode: Mode,
  lastSyncMs: number | null,
  nowMs: number,
  fresh: FreshnessConfig,
  httpError: string | null,
  loginRequired = false,
  silent: SilentGateway[] = [],
): Indicator {
  if (loginRequired) {
    // No data is shown without a login, so nothing can be stale; the socket waits for login().
    return {
      label: 'Logged out',
      tone: 'warn',
      age: 'no data',
      stale: false,
      detail: null,
      detailTitle: null,
    };
  }
  const [label, tone] = LABELS[mode];
  const freshMs = mode === 'realtime' ? fresh.realtimeFreshMs : fresh.pollFreshMs;
  const ageMs = lastSyncMs === null ? null : nowMs - lastSyncMs;
  const stale = ageMs === null || ageMs >= freshMs;
  let detail: string | null = null;
  if (mode === 'fallback') {
    // The client words its HTTP problems as sentences saying what it does about them.
    detail = httpError ?? 'retrying real-time';
  }
  let age = ageMs === null ? 'no data yet' : formatAge(ageMs, freshMs);
  let detailTitle: string | null = null;
  if (silent.length > 0) {
    // The bridge's data is current, but not the silent gateways' part: the header does not
    // call it live.
    const names = silent.map((g) => g.name).join(', ');
    if (age === 'live')
      age = silent.length === 1 ? '1 gateway silent' : `${silent.length} gateways silent`;
    detail = detail === null ? `silent: ${names}` : `${detail}; silent: ${names}`;
    detailTitle = silent
      .map(
        (g) => `${g.name}: nothing received since ${g.since === null ? '?' : formatUtc(g.since)}`,
      )
      .join('\n');
  }
  return {
    label,
    tone: silent.length > 0 && tone === 'ok' ? 'warn' : tone,
    age,
    stale,
    detail,
    detailTitle,
  };
}
