// Which way the dashboard gets its data, and what the header says about it. A small state
// machine: the live client feeds it socket and timer events and does what the mode asks.
import { formatAge } from './format';
import type { Formats } from './i18n';
import { problemText } from './problems';

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
  /** The age's tooltip: when the newest data arrived, as an absolute time. */
  ageTitle: string | null;
  /** False until anything has arrived (then nothing can be called stale yet). */
  hasData: boolean;
  stale: boolean;
  detail: string | null;
  /** The detail's tooltip: absolute times for what it names. */
  detailTitle: string | null;
}

const LABELS = {
  connecting: ['connection.connecting', 'warn'],
  realtime: ['connection.realtime', 'ok'],
  reconnecting: ['connection.reconnecting', 'warn'],
  fallback: ['connection.fallback', 'error'],
} as const satisfies Record<Mode, [string, Tone]>;

/** What the header shows: the mode and the age of the newest data, so it is never silently stale. */
export function indicator(
  f: Formats,
  mode: Mode,
  lastSyncMs: number | null,
  nowMs: number,
  fresh: FreshnessConfig,
  httpError: string | null,
  loginRequired = false,
  silent: SilentGateway[] = [],
): Indicator {
  const { t } = f;
  if (loginRequired) {
    // No data is shown without a login, so nothing can be stale; the socket waits for login().
    return {
      label: t('connection.loggedOut'),
      tone: 'warn',
      age: t('connection.noData'),
      ageTitle: null,
      hasData: false,
      stale: false,
      detail: null,
      detailTitle: null,
    };
  }
  const [labelKey, tone] = LABELS[mode];
  const freshMs = mode === 'realtime' ? fresh.realtimeFreshMs : fresh.pollFreshMs;
  const ageMs = lastSyncMs === null ? null : nowMs - lastSyncMs;
  const stale = ageMs === null || ageMs >= freshMs;
  let detail: string | null = null;
  if (mode === 'fallback') {
    // The client names the problem (problems.ts); here it becomes a sentence saying what is
    // wrong and what the page does about it, never the browser's "Failed to fetch".
    detail = httpError === null ? t('connection.retryingRealtime') : problemText(f, httpError);
  }
  let age = ageMs === null ? t('connection.noDataYet') : formatAge(f, ageMs, freshMs);
  let detailTitle: string | null = null;
  if (silent.length > 0) {
    // The bridge's data is current, but not the silent gateways' part: the header does not
    // call it live.
    const names = silent.map((g) => g.name).join(t('connection.listSeparator'));
    if (!stale)
      age = t('connection.gatewaysSilent', { count: silent.length, n: f.number(silent.length) });
    detail =
      detail === null
        ? t('connection.silentNames', { names })
        : t('connection.detailAndSilent', { detail, names });
    detailTitle = silent
      .map((g) =>
        t('connection.silentSince', {
          name: g.name,
          time: g.since === null ? t('time.unknown') : f.dateTime(g.since),
        }),
      )
      .join('\n');
  }
  return {
    label: t(labelKey),
    tone: silent.length > 0 && tone === 'ok' ? 'warn' : tone,
    age,
    ageTitle: lastSyncMs === null ? null : f.dateTime(lastSyncMs / 1000),
    hasData: ageMs !== null,
    stale,
    detail,
    detailTitle,
  };
}
