// Every connection knob of the dashboard, in one place. A wall screen or a test can override
// the timings through the page's query string, e.g. `?poll=1000&fallback=3000`.
import type { ManagerOptions, SocketOptions } from 'socket.io-client';

export interface DashboardConfig {
  socket: Partial<ManagerOptions & SocketOptions>;
  /** Without a real-time connection for this long, poll over HTTP instead. */
  fallbackAfterMs: number;
  /** HTTP polling interval in fallback mode. */
  pollIntervalMs: number;
  /** A relay command with no answer after this long is shown as failed. */
  commandTimeoutMs: number;
  /** Socket request (request_state) and HTTP request timeout. */
  requestTimeoutMs: number;
  history: { maxPoints: number; windowS: number };
  /** Live updates are applied at most this often; what arrives in between is applied with the
   * next batch. A lone update after a quiet spell is applied at once. */
  applyEveryMs: number;
  freshness: { realtimeFreshMs: number; pollFreshMs: number; deviceFreshMs: number };
}

export const defaultConfig: DashboardConfig = {
  socket: {
    transports: ['websocket', 'polling'],
    // If the WebSocket is blocked (proxies, firewalls), try long-polling before giving up.
    tryAllTransports: true,
    reconnection: true,
    reconnectionAttempts: Number.POSITIVE_INFINITY,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,
    timeout: 5000,
  },
  fallbackAfterMs: 5000,
  pollIntervalMs: 2000,
  // Longer than the bridge's own command timeout (5 s), so its verdict normally arrives first.
  commandTimeoutMs: 10000,
  requestTimeoutMs: 8000,
  history: { maxPoints: 300, windowS: 3600 },
  // A plant at hundreds of updates a second sends tens of socket messages a second; applying
  // each copies the plant's records of thousands of keys (docs/benchmarks.md, plant_screen).
  // Ten batches a second are as smooth to the eye as an operator's display needs.
  applyEveryMs: 100,
  // The bridge's heartbeat (ping interval 25 s + timeout 20 s) bounds how long a quiet but
  // healthy socket goes without a message.
  freshness: { realtimeFreshMs: 45000, pollFreshMs: 5000, deviceFreshMs: 3000 },
};

const positive = (raw: string | null): number | null => {
  if (raw === null) return null;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : null;
};

/** The defaults, with `poll` and `fallback` (milliseconds) taken from a query string. */
export function readConfig(search: string, base: DashboardConfig = defaultConfig): DashboardConfig {
  const params = new URLSearchParams(search);
  const poll = positive(params.get('poll'));
  const fallback = positive(params.get('fallback'));
  const pollIntervalMs = poll ?? base.pollIntervalMs;
  return {
    ...base,
    pollIntervalMs,
    fallbackAfterMs: fallback ?? base.fallbackAfterMs,
    freshness: {
      ...base.freshness,
      pollFreshMs: Math.max(base.freshness.pollFreshMs, pollIntervalMs * 2 + 1000),
    },
  };
}
