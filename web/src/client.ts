// The I/O edge: one Socket.IO connection, HTTP polling when it is down, timers. It turns what
// arrives into calls of the pure reducers and publishes snapshots for React.
import type { io as ioFn, Socket } from 'socket.io-client';
import { type AuthState, authFromLogin, authFromMe, initialAuth, requiredAuth } from './auth';
import type { DashboardConfig } from './config';
import { awaitsSocket, type ConnectionEvent, type Mode, nextMode, polls } from './connection';
import {
  applyDeltas,
  applyState,
  dismissError,
  emptyPlant,
  markPending,
  normalizeOutcome,
  type PlantState,
  relayKey,
  resolveCommand,
} from './plant';
import { detailOf, ProblemError, problemOf } from './problems';
import { type AllToSafeAnswer, normalizeAllToSafe } from './safeguards';
import type {
  AlarmRequest,
  CommandOutcome,
  Delta,
  EventLogFilter,
  EventLogPage,
  EventLogSubscription,
  EventLogUpdate,
  EventsAnswer,
  FullState,
  ServiceRequest,
} from './types';
import { DELTA_EVENTS } from './types';

export interface Snapshot {
  plant: PlantState;
  mode: Mode;
  /** When something last proved our data current (browser clock, ms). */
  lastSyncMs: number | null;
  httpError: string | null;
  auth: AuthState;
}

export type { EventLogPage } from './types';

export interface ClientDeps {
  io: typeof ioFn;
  fetch: typeof fetch;
  now: () => number;
  /** The page's base URL; the API and Socket.IO are resolved relative to it. */
  baseUrl: string;
}

/** The bridge answered, but not with what was asked for. */

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isFullState = (v: unknown): v is FullState =>
  isObject(v) && typeof v.version === 'number' && isObject(v.devices) && isObject(v.relays);
const isDelta = (v: unknown): v is Delta => isObject(v) && typeof v.version === 'number';

export class LiveClient {
  private snapshot: Snapshot = {
    plant: emptyPlant,
    mode: 'connecting',
    lastSyncMs: null,
    httpError: null,
    auth: initialAuth,
  };
  private readonly listeners = new Set<() => void>();
  private readonly eventLogListeners = new Set<(update: EventLogUpdate) => void>();
  private socket: Socket | null = null;
  private fallbackTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  // Bumped whenever polling stops, so an answer still in flight cannot overwrite socket data.
  private pollGeneration = 0;
  private resyncing = false;
  private running = false;
  // Socket deltas waiting for the next batch (in arrival order), and when one was last applied.
  private queued: Delta[] = [];
  private batchTimer: ReturnType<typeof setTimeout> | null = null;
  private appliedAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: DashboardConfig,
    private readonly deps: ClientDeps,
  ) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): Snapshot => this.snapshot;

  start(): void {
    if (this.running) return;
    this.running = true;
    const socket = this.deps.io(new URL('.', this.deps.baseUrl).origin, {
      ...this.config.socket,
      path: new URL('socket.io', this.deps.baseUrl).pathname,
      autoConnect: false,
    });
    socket.on('connect', () => this.onSocket('socket_up'));
    socket.on('disconnect', (reason: string) => {
      this.onSocket('socket_down');
      // The bridge ends the sockets of a session that logged out: find out at once.
      if (reason === 'io server disconnect') void this.checkAuth();
      this.retryIfAbandoned();
    });
    socket.on('connect_error', (err: Error) => {
      // The bridge refuses a socket without a login; the login form takes it from here.
      if (err.message === 'unauthorized') this.loginRequired();
      this.retryIfAbandoned();
    });
    socket.on('state', (full: unknown) => this.receiveState(full));
    socket.on('event_log_update', (update: EventLogUpdate) => {
      for (const listener of this.eventLogListeners) listener(update);
    });
    for (const event of DELTA_EVENTS) {
      socket.on(event, (delta: unknown) => this.queueDelta(delta));
    }
    // The heartbeat proves a quiet plant's data is still current.
    socket.io.on('ping', () => this.update({ lastSyncMs: this.deps.now() }));
    this.socket = socket;
    this.armFallbackTimer();
    socket.connect();
    void this.checkAuth();
  }

  stop(): void {
    this.running = false;
    this.clearTimers();
    this.socket?.removeAllListeners();
    this.socket?.io.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
  }

  /** Asks for a relay to switch. The switch shows pending until the outcome arrives.
   * `confirmed`: the operator confirmed it in a dialog (the audit records it). */
  setRelay(gateway: string, relay: string, on: boolean, confirmed = false): void {
    const key = relayKey(gateway, relay);
    if (this.snapshot.plant.pending[key] !== undefined) return;
    this.updatePlant((p) => markPending(p, key, on, this.deps.now()));
    const done = (outcome: CommandOutcome) =>
      this.updatePlant((p) => resolveCommand(p, key, outcome, this.deps.now()));
    const socket = this.socket;
    if (socket?.connected) {
      socket
        .timeout(this.config.commandTimeoutMs)
        .emit(
          'set_relay',
          { gateway, relay, on, ...(confirmed ? { confirmed } : {}) },
          (err: Error | null, answer: unknown) => {
            done(
              err
                ? this.failure('timeout', `no answer from the bridge within ${this.seconds()} s`)
                : normalizeOutcome(answer),
            );
          },
        );
      return;
    }
    this.postRelay(gateway, relay, on, confirmed).then(done);
  }

  /** Locks (with a reason) or unlocks a relay as the signed-in user; the outcome says whether
   * the gateway took it. Its lock state arrives with the relay's next state. */
  lockRelay(
    gateway: string,
    relay: string,
    lock: boolean,
    reason?: string,
  ): Promise<CommandOutcome> {
    const body = { lock, ...(reason ? { reason } : {}) };
    const path = `api/relays/${encodeURIComponent(gateway)}/${encodeURIComponent(relay)}/lock`;
    return this.command('lock_relay', { gateway, relay, ...body }, path, body).then((answer) =>
      normalizeOutcome(answer),
    );
  }

  /** Every relay of one gateway (or, without one, of the plant) to its safe state. */
  allToSafe(gateway?: string): Promise<AllToSafeAnswer> {
    const body = gateway === undefined ? {} : { gateway };
    return this.command('all_to_safe', body, 'api/all-to-safe', body).then(normalizeAllToSafe);
  }

  /** One command over the socket when it is up, else over HTTP; the raw answer. */
  private async command(event: string, data: object, path: string, body: object): Promise<unknown> {
    const socket = this.socket;
    if (socket?.connected) {
      try {
        return await socket.timeout(this.config.commandTimeoutMs).emitWithAck(event, data);
      } catch {
        return this.failure('timeout', `no answer from the bridge within ${this.seconds()} s`);
      }
    }
    try {
      const res = await this.request('POST', path, body, this.config.commandTimeoutMs);
      if (res.status === 401) this.loginRequired();
      return await res.json().catch(() => null);
    } catch (err) {
      return this.failure('not_connected', `bridge unreachable: ${String(err)}`);
    }
  }

  /** Acknowledges, shelves or unshelves an alarm; the list shows the change when it arrives. */
  async handleAlarm(request: AlarmRequest): Promise<CommandOutcome> {
    const socket = this.socket;
    if (socket?.connected) {
      return new Promise((resolve) => {
        socket
          .timeout(this.config.commandTimeoutMs)
          .emit('alarm_command', request, (err: Error | null, answer: unknown) => {
            resolve(
              err
                ? this.failure('timeout', `no answer from the bridge within ${this.seconds()} s`)
                : normalizeOutcome(answer),
            );
          });
      });
    }
    try {
      const res = await this.request(
        'POST',
        'api/alarms/command',
        request,
        this.config.commandTimeoutMs,
      );
      if (res.status === 401) this.loginRequired();
      return normalizeOutcome(await res.json().catch(() => null), res.status);
    } catch (err) {
      return this.requestFailure(err);
    }
  }

  /** Takes a device out of service (with a reason) or back; the card shows it when it lands. */
  async setService(request: ServiceRequest): Promise<CommandOutcome> {
    const socket = this.socket;
    if (socket?.connected) {
      return new Promise((resolve) => {
        socket
          .timeout(this.config.commandTimeoutMs)
          .emit('set_service', request, (err: Error | null, answer: unknown) => {
            resolve(
              err
                ? this.failure('timeout', `no answer from the bridge within ${this.seconds()} s`)
                : normalizeOutcome(answer),
            );
          });
      });
    }
    const path = `api/devices/${encodeURIComponent(request.gateway)}/${encodeURIComponent(request.device)}/service`;
    try {
      const { gateway: _g, device: _d, ...body } = request;
      const res = await this.request('POST', path, body, this.config.commandTimeoutMs);
      if (res.status === 401) this.loginRequired();
      return normalizeOutcome(await res.json().catch(() => null), res.status);
    } catch (err) {
      return this.requestFailure(err);
    }
  }

  /** A page of the operators' event log; `query` holds its filters (docs/api.md). */
  async eventLog(query: URLSearchParams): Promise<EventLogPage> {
    let res: Response;
    try {
      res = await this.request('GET', `api/event-log?${query.toString()}`);
    } catch (err) {
      throw new ProblemError(problemOf(err));
    }
    if (res.status === 401) this.loginRequired();
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok || !isObject(body) || !Array.isArray(body.entries)) {
      throw new ProblemError(`http_${res.status}`, detailOf(body));
    }
    return body as unknown as EventLogPage;
  }

  /**
   * Opens the live event log with these filters: answered with its first page, then the
   * bridge pushes `event_log_update` (see `onEventLogUpdate`). Null while the socket is down
   * (the caller polls `eventLog` in fallback mode).
   */
  async subscribeEventLog(filter: EventLogFilter): Promise<EventLogSubscription | null> {
    const socket = this.socket;
    if (!socket?.connected) return null;
    try {
      return await socket
        .timeout(this.config.requestTimeoutMs)
        .emitWithAck('subscribe_event_log', filter);
    } catch {
      return null;
    }
  }

  unsubscribeEventLog(): void {
    // Never queued for a later connection: a new connection starts unsubscribed.
    if (this.socket?.connected) this.socket.emit('unsubscribe_event_log');
  }

  onEventLogUpdate(listener: (update: EventLogUpdate) => void): () => void {
    this.eventLogListeners.add(listener);
    return () => this.eventLogListeners.delete(listener);
  }

  /** Where the event log with these filters is downloaded as CSV. */
  eventLogCsvUrl(query: URLSearchParams): string {
    return this.url(`api/event-log.csv?${query.toString()}`);
  }

  dismissError(gateway: string, relay: string): void {
    this.updatePlant((p) => dismissError(p, relayKey(gateway, relay)));
  }

  /** A device's history (docs/api.md, "History"); a failure is a sentence for the operator. */
  async history(path: string): Promise<unknown> {
    let res: Response;
    try {
      res = await this.request('GET', path);
    } catch (err) {
      throw new ProblemError(problemOf(err));
    }
    if (res.status === 401) this.loginRequired();
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) throw new ProblemError(`http_${res.status}`, detailOf(body));
    return body;
  }

  // --------------------------------------------------------------- login

  private async checkAuth(): Promise<void> {
    try {
      const res = await this.request('GET', 'api/auth/me');
      const auth = authFromMe(res.status, await res.json().catch(() => null));
      if (auth?.status === 'required') this.loginRequired();
      else if (auth !== null) this.update({ auth });
    } catch {
      // The bridge is unreachable: the connection indicator already says so.
    }
  }

  async login(username: string, password: string): Promise<void> {
    this.update({ auth: { ...this.snapshot.auth, busy: true, error: null } });
    let auth: AuthState;
    try {
      const res = await this.request('POST', 'api/auth/login', { username, password });
      auth = authFromLogin(res.status, await res.json().catch(() => null));
    } catch (err) {
      auth = requiredAuth({ code: 'unreachable', error: String(err) });
    }
    this.update({ auth });
    if (auth.status !== 'signed_in') return;
    void this.checkAuth(); // for the permissions
    const socket = this.socket;
    if (socket !== null && !socket.connected && !socket.active) socket.connect();
    if (polls(this.snapshot.mode)) {
      this.stopPolling();
      this.schedulePoll(0);
    }
  }

  async logout(): Promise<void> {
    try {
      await this.request('POST', 'api/auth/logout');
    } finally {
      // Nothing of the plant stays on screen for whoever uses the tablet next.
      this.queued = [];
      this.update({ auth: requiredAuth(), plant: emptyPlant, lastSyncMs: null });
      this.socket?.disconnect();
    }
  }

  private loginRequired(): void {
    if (this.snapshot.auth.status === 'required') return;
    const expired = this.snapshot.auth.status === 'signed_in';
    this.queued = [];
    this.update({
      auth: requiredAuth(expired ? { code: 'session_ended' } : null),
      plant: emptyPlant,
      lastSyncMs: null,
    });
  }

  // --------------------------------------------------------------- connection mode

  private onSocket(event: ConnectionEvent): void {
    const mode = nextMode(this.snapshot.mode, event);
    if (event === 'socket_up') this.update({ mode, lastSyncMs: this.deps.now(), httpError: null });
    else this.update({ mode });
    this.reconcileTimers();
  }

  private reconcileTimers(): void {
    const { mode } = this.snapshot;
    if (awaitsSocket(mode)) this.armFallbackTimer();
    else if (this.fallbackTimer !== null) {
      clearTimeout(this.fallbackTimer);
      this.fallbackTimer = null;
    }
    if (polls(mode)) {
      if (this.pollTimer === null) this.schedulePoll(0);
    } else this.stopPolling();
  }

  /**
   * Socket.IO stops retrying on its own when the server ends the session or refuses the
   * connection (e.g. a slow client cut off, an authorisation change). The dashboard never
   * gives up, so it starts the next attempt itself.
   */
  private retryIfAbandoned(): void {
    const socket = this.socket;
    if (socket === null || socket.active || this.retryTimer !== null) return;
    if (this.snapshot.auth.status === 'required') return; // login() reconnects
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.running && !socket.connected) socket.connect();
    }, this.config.socket.reconnectionDelayMax ?? 5000);
  }

  private armFallbackTimer(): void {
    if (this.fallbackTimer !== null) return;
    this.fallbackTimer = setTimeout(() => {
      this.fallbackTimer = null;
      this.update({ mode: nextMode(this.snapshot.mode, 'fallback_timeout') });
      this.reconcileTimers();
    }, this.config.fallbackAfterMs);
  }

  private clearTimers(): void {
    if (this.fallbackTimer !== null) clearTimeout(this.fallbackTimer);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.batchTimer !== null) clearTimeout(this.batchTimer);
    this.fallbackTimer = null;
    this.retryTimer = null;
    this.batchTimer = null;
    this.queued = [];
    this.stopPolling();
  }

  private stopPolling(): void {
    if (this.pollTimer !== null) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.pollGeneration += 1;
  }

  // --------------------------------------------------------------- receiving data

  private receiveState(full: unknown): boolean {
    if (!isFullState(full)) return false;
    // What arrived before the state is applied before it, in order (a gap there needs no
    // resync: this state is one).
    this.applyQueued(false);
    this.update({
      plant: applyState(this.snapshot.plant, full, this.config.history),
      lastSyncMs: this.deps.now(),
    });
    return true;
  }

  /** A socket delta: applied at once after a quiet spell, else with the next batch. */
  private queueDelta(delta: unknown): void {
    if (!isDelta(delta)) return;
    this.queued.push(delta);
    if (this.batchTimer !== null) return;
    const wait = this.appliedAtMs + this.config.applyEveryMs - this.deps.now();
    if (wait <= 0) {
      this.applyQueued(true);
      return;
    }
    this.batchTimer = setTimeout(() => {
      this.batchTimer = null;
      this.applyQueued(true);
    }, wait);
  }

  private applyQueued(resyncOnGap: boolean): void {
    const deltas = this.queued;
    if (deltas.length === 0) return;
    this.queued = [];
    this.appliedAtMs = this.deps.now();
    this.applyDeltas(deltas, resyncOnGap);
  }

  /** Returns false when a gap was found (the caller, or `resyncOnGap`, fetches the full state). */
  private applyDeltas(deltas: readonly Delta[], resyncOnGap: boolean): boolean {
    const result = applyDeltas(this.snapshot.plant, deltas, this.config.history);
    this.update({ plant: result.state, lastSyncMs: this.deps.now() });
    if (result.outcome !== 'gap') return true;
    if (resyncOnGap) this.resync();
    return false;
  }

  private resync(): void {
    const socket = this.socket;
    if (this.resyncing || socket === null || !socket.connected) return; // polling resyncs itself
    this.resyncing = true;
    socket
      .timeout(this.config.requestTimeoutMs)
      .emit('request_state', (err: Error | null, full: unknown) => {
        this.resyncing = false;
        if (err === null) this.receiveState(full);
      });
  }

  // --------------------------------------------------------------- HTTP

  private url(path: string): string {
    return new URL(path, this.deps.baseUrl).toString();
  }

  private async getJson(path: string): Promise<unknown> {
    const res = await this.request('GET', path);
    if (res.status === 401) this.loginRequired();
    if (!res.ok) throw new ProblemError(`http_${res.status}`);
    return res.json();
  }

  /** A JSON request with the session's CSRF token on anything that changes something. */
  private request(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    timeoutMs = this.config.requestTimeoutMs,
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const csrf = this.snapshot.auth.csrf;
    if (method === 'POST' && csrf !== null) headers['X-CSRF-Token'] = csrf;
    return this.deps.fetch(this.url(path), {
      method,
      headers,
      credentials: 'same-origin',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
      cache: 'no-store',
    });
  }

  private schedulePoll(delayMs: number): void {
    const generation = this.pollGeneration;
    this.pollTimer = setTimeout(async () => {
      await this.poll(generation);
      if (generation === this.pollGeneration && polls(this.snapshot.mode)) {
        this.schedulePoll(this.config.pollIntervalMs);
      }
    }, delayMs);
  }

  private async poll(generation: number): Promise<void> {
    const current = () => generation === this.pollGeneration;
    if (this.snapshot.auth.status === 'required') return;
    try {
      const version = this.snapshot.plant.version;
      if (version !== null) {
        const answer = (await this.getJson(`api/events?since=${version}`)) as EventsAnswer;
        if (!current()) return;
        // A version below ours means the bridge restarted: its history is not ours.
        const continues = isObject(answer) && !answer.resync && answer.version >= version;
        if (continues) {
          // One batch: the events a poll brings are applied together, in order; a gap is
          // resolved below with the full state.
          const events = (answer.events ?? []).map((e) => e.data).filter(isDelta);
          const allApplied = this.applyDeltas(events, false);
          if (allApplied) {
            this.update({ lastSyncMs: this.deps.now(), httpError: null });
            return;
          }
        }
      }
      const full = await this.getJson('api/state');
      if (!current()) return;
      if (!this.receiveState(full)) throw new Error('GET api/state answered no valid state');
      this.update({ httpError: null });
    } catch (err) {
      if (!current()) return;
      const problem = err instanceof ProblemError ? err.problem : problemOf(err);
      this.update({ httpError: problem });
    }
  }

  private async postRelay(
    gateway: string,
    relay: string,
    on: boolean,
    confirmed: boolean,
  ): Promise<CommandOutcome> {
    const path = `api/relays/${encodeURIComponent(gateway)}/${encodeURIComponent(relay)}`;
    const sent = confirmed ? { on, confirmed } : { on };
    try {
      const res = await this.request('POST', path, sent, this.config.commandTimeoutMs);
      if (res.status === 401) this.loginRequired();
      const body: unknown = await res.json().catch(() => null);
      return normalizeOutcome(body, res.status);
    } catch (err) {
      return this.requestFailure(err);
    }
  }

  /** A command request that got no answer: a timeout, or no bridge at all. */
  private requestFailure(err: unknown): CommandOutcome {
    if (problemOf(err) === 'timeout') {
      return this.failure('timeout', `no answer from the bridge within ${this.seconds()} s`);
    }
    // "Failed to fetch" says nothing: the code's words (in the user's language) say more.
    return this.failure('not_connected', null);
  }

  private seconds(): number {
    return this.config.commandTimeoutMs / 1000;
  }

  private failure(error: CommandOutcome['error'], detail: string | null): CommandOutcome {
    return { ok: false, id: null, on: null, error, detail };
  }

  // --------------------------------------------------------------- snapshots

  private updatePlant(change: (p: PlantState) => PlantState): void {
    this.update({ plant: change(this.snapshot.plant) });
  }

  private update(patch: Partial<Snapshot>): void {
    if (!this.running) return;
    this.snapshot = { ...this.snapshot, ...patch };
    for (const listener of this.listeners) listener();
  }
}
