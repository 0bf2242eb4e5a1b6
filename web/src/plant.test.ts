import { describe, expect, it } from 'vitest';
import {
  applyDelta,
  applyDeltas,
  applyState,
  deviceCardState,
  emptyPlant,
  extendHistory,
  gatewayIds,
  gatewayStatus,
  markPending,
  normalizeOutcome,
  type PlantState,
  relaySwitchState,
  resolveCommand,
  silentGateways,
} from './plant';
import { testAlarm } from './testAlarm';
import type { Alarm, Device, FullState, Gateway, Relay } from './types';

const limits = { maxPoints: 5, windowS: 3600 };

const temp = (value: number | null, ts: number, quality: Device['quality'] = 'good'): Device => ({
  gateway: 'line1',
  id: 'temperature',
  name: 'Oven temperature',
  kind: 'temperature',
  unit: '°C',
  value,
  ts,
  seq: ts,
  quality,
});

const relay1 = (on: boolean): Relay => ({
  gateway: 'line1',
  id: 'relay_1',
  name: 'Conveyor motor',
  on,
  ts: 100,
  seq: 1,
  cmd: null,
  quality: 'good',
  safe_state: false,
});

const gatewayEntry = (fields: Partial<Gateway>): Gateway => ({
  id: 'line1',
  online: true,
  name: 'Line 1',
  version: '1',
  ts: 1,
  status: 'online',
  silent_since: null,
  silent_after: 6,
  device_order: ['temperature'],
  relay_order: ['relay_1'],
  ...fields,
});

const full = (version = 10): FullState => ({
  version,
  alarms: {},
  gateways: { line1: gatewayEntry({}) },
  devices: { 'line1/temperature': temp(21.5, 100) },
  relays: { 'line1/relay_1': relay1(false) },
  system_stats: { line1: { cpu: 10, memory: 20, disk: 30, uptime: 5, ts: 100 } },
  history: {
    'line1/temperature': [
      [98, 21],
      [99, 21.2],
      [100, 21.5],
    ],
  },
});

const loaded = (): PlantState => applyState(emptyPlant, full(), limits);

describe('applyState', () => {
  it('takes everything from the full state and its history', () => {
    const s = loaded();
    expect(s.version).toBe(10);
    expect(s.devices['line1/temperature']?.value).toBe(21.5);
    expect(s.relays['line1/relay_1']?.on).toBe(false);
    expect(s.history['line1/temperature']).toEqual([
      [98, 21],
      [99, 21.2],
      [100, 21.5],
    ]);
  });

  it('starts a history from the current value when the bridge sent none', () => {
    const s = applyState(emptyPlant, { ...full(), history: {} }, limits);
    expect(s.history['line1/temperature']).toEqual([[100, 21.5]]);
  });

  it('keeps a command in flight across a resync', () => {
    const pending = markPending(loaded(), 'line1/relay_1', true, 1);
    const s = applyState(pending, full(11), limits);
    expect(relaySwitchState(s, 'line1/relay_1')).toBe('pending');
  });

  it('accepts a lower version: the bridge restarted and its full state is the truth', () => {
    expect(applyState(loaded(), full(2), limits).version).toBe(2);
  });
});

describe('applyDelta', () => {
  it('applies a delta that continues from the held version', () => {
    const r = applyDelta(
      loaded(),
      { prev: 10, version: 11, devices: { 'line1/temperature': temp(99.5, 101) } },
      limits,
    );
    expect(r.outcome).toBe('applied');
    expect(r.state.version).toBe(11);
    expect(r.state.devices['line1/temperature']?.value).toBe(99.5);
    expect(r.state.history['line1/temperature']?.at(-1)).toEqual([101, 99.5]);
  });

  it('reports a gap when prev is not the held version, and changes nothing', () => {
    const s = loaded();
    const r = applyDelta(
      s,
      { prev: 12, version: 13, relays: { 'line1/relay_1': relay1(true) } },
      limits,
    );
    expect(r.outcome).toBe('gap');
    expect(r.state).toBe(s);
  });

  it('reports a gap before any full state arrived', () => {
    expect(applyDelta(emptyPlant, { prev: 1, version: 2 }, limits).outcome).toBe('gap');
  });

  it('treats a delta without prev as a gap unless already held', () => {
    expect(applyDelta(loaded(), { version: 12, devices: {} }, limits).outcome).toBe('gap');
    expect(applyDelta(loaded(), { version: 10, devices: {} }, limits).outcome).toBe('ignored');
  });

  it('ignores an old or repeated delta (e.g. one queued behind a full state)', () => {
    const s = loaded();
    const r = applyDelta(
      s,
      { prev: 8, version: 9, relays: { 'line1/relay_1': relay1(true) } },
      limits,
    );
    expect(r.outcome).toBe('ignored');
    expect(r.state.relays['line1/relay_1']?.on).toBe(false);
  });

  it('applies a held-back delta whose version is the one held (prev == held == version)', () => {
    const s = loaded();
    const r = applyDelta(
      s,
      { prev: 10, version: 10, relays: { 'line1/relay_1': relay1(true) } },
      limits,
    );
    expect(r.outcome).toBe('applied');
    expect(r.state.relays['line1/relay_1']?.on).toBe(true);
    expect(r.state.version).toBe(10);
  });

  it('merges gateways, relays and system stats by key', () => {
    const r = applyDelta(
      loaded(),
      {
        prev: 10,
        version: 11,
        gateways: { line1: gatewayEntry({ online: false, status: 'offline', ts: 2 }) },
        relays: { 'line1/relay_1': relay1(true) },
        system_stats: { bridge: { cpu: 1, memory: 2, disk: 3, uptime: 4 } },
      },
      limits,
    );
    expect(r.state.gateways.line1).toEqual(
      gatewayEntry({ online: false, status: 'offline', ts: 2 }),
    );
    expect(r.state.relays['line1/relay_1']?.on).toBe(true);
    expect(Object.keys(r.state.systemStats).sort()).toEqual(['bridge', 'line1']);
  });
});

describe('applyDeltas (one batch of what arrived)', () => {
  const hum = (value: number, ts: number): Device => ({
    ...temp(value, ts),
    id: 'humidity',
    name: 'Hall humidity',
  });
  const d11 = { prev: 10, version: 11, devices: { 'line1/temperature': temp(22, 101) } };
  const d12 = { prev: 11, version: 12, relays: { 'line1/relay_1': relay1(true) } };
  const d13 = { prev: 12, version: 13, devices: { 'line1/temperature': temp(23, 102) } };
  const chain = [d11, d12, d13];

  it('ends where applying them one by one ends, every reading in the history', () => {
    let oneByOne = loaded();
    for (const d of chain) oneByOne = applyDelta(oneByOne, d, limits).state;
    const batch = applyDeltas(loaded(), chain, limits);
    expect(batch.outcome).toBe('applied');
    expect(batch.state).toEqual(oneByOne);
    expect(batch.state.history['line1/temperature']?.slice(-2)).toEqual([
      [101, 22],
      [102, 23],
    ]);
  });

  it('stops at a gap, keeping what came before it', () => {
    const r = applyDeltas(loaded(), [d11, d13], limits);
    expect(r.outcome).toBe('gap');
    expect(r.state.version).toBe(11);
    expect(r.state.devices['line1/temperature']?.value).toBe(22);
  });

  it('skips a delta older than the held version inside a batch', () => {
    const r = applyDeltas(loaded(), [{ prev: 8, version: 9, devices: {} }, d11], limits);
    expect(r.outcome).toBe('applied');
    expect(r.state.version).toBe(11);
  });

  it('gives a memoised screen the same objects for what did not change', () => {
    const before = applyDelta(
      loaded(),
      { prev: 10, version: 10, devices: { 'line1/humidity': hum(40, 100) } },
      limits,
    ).state;
    const after = applyDeltas(before, [d11], limits).state;
    expect(after.devices['line1/humidity']).toBe(before.devices['line1/humidity']);
    expect(after.history['line1/humidity']).toBe(before.history['line1/humidity']);
    expect(after.relays).toBe(before.relays);
    expect(after.devices['line1/temperature']).not.toBe(before.devices['line1/temperature']);
  });

  it('changes the shape when a device, relay or gateway appears, not with values', () => {
    const held = loaded();
    expect(applyDeltas(held, chain, limits).state.shape).toBe(held.shape);
    const added = applyDeltas(
      held,
      [{ prev: 10, version: 11, devices: { 'line1/humidity': hum(40, 101) } }],
      limits,
    );
    expect(added.state.shape).not.toBe(held.shape);
    expect(applyState(held, full(20), limits).shape).not.toBe(held.shape);
  });

  it('replaces alarms whole and drops one the bridge removed (null) within the batch', () => {
    const raised: Alarm = testAlarm({});
    const key = 'line1/temperature/hi';
    const r = applyDeltas(
      loaded(),
      [
        { prev: 10, version: 11, alarms: { [key]: raised } },
        { prev: 11, version: 12, alarms: { [key]: null } },
      ],
      limits,
    );
    expect(r.state.alarms).toEqual({});
    expect(r.state.version).toBe(12);
  });

  it('leaves the state as it was when nothing applied', () => {
    const held = loaded();
    expect(applyDeltas(held, [], limits).state).toBe(held);
    expect(applyDeltas(held, [{ prev: 3, version: 4 }], limits).state).toBe(held);
  });
});

describe('extendHistory', () => {
  it('keeps at most maxPoints, newest last', () => {
    let h = extendHistory(undefined, temp(1, 1), limits);
    for (let t = 2; t <= 8; t += 1) h = extendHistory(h, temp(t, t), limits);
    expect(h.map(([t]) => t)).toEqual([4, 5, 6, 7, 8]);
  });

  it('drops points older than the window', () => {
    const h = extendHistory([[0, 1]], temp(2, 4000), limits);
    expect(h).toEqual([[4000, 2]]);
  });

  it('skips bad readings and repeated timestamps', () => {
    const h = extendHistory([[10, 1]], temp(null, 11, 'bad'), limits);
    expect(extendHistory(h, temp(5, 10), limits)).toEqual([[10, 1]]);
  });

  it('plots digital inputs', () => {
    const h = extendHistory([], { value: true, ts: 3, quality: 'good' }, limits);
    expect(h).toEqual([[3, true]]);
  });
});

describe('relay commands', () => {
  const key = 'line1/relay_1';

  it('is pending while travelling, showing the known state, not the requested one', () => {
    const s = markPending(loaded(), key, true, 5);
    expect(relaySwitchState(s, key)).toBe('pending');
    expect(s.relays[key]?.on).toBe(false);
  });

  it('shows the read-back state once confirmed', () => {
    const s = resolveCommand(
      markPending(loaded(), key, true, 5),
      key,
      { ok: true, id: 'c1', on: true, error: null, detail: null },
      6,
    );
    expect(relaySwitchState(s, key)).toBe('on');
    expect(s.pending[key]).toBeUndefined();
  });

  it('shows the error and the actual state when it failed', () => {
    const s = resolveCommand(
      markPending(loaded(), key, true, 5),
      key,
      { ok: false, id: 'c1', on: false, error: 'readback_mismatch', detail: 'pin stayed low' },
      6,
    );
    expect(relaySwitchState(s, key)).toBe('error');
    expect(s.relays[key]?.on).toBe(false);
    expect(s.commandErrors[key]).toEqual({
      code: 'readback_mismatch',
      detail: 'pin stayed low',
      atMs: 6,
    });
  });

  it('keeps the held state when the outcome does not know it', () => {
    const s = resolveCommand(
      markPending(loaded(), key, true, 5),
      key,
      { ok: false, id: null, on: null, error: 'timeout', detail: null },
      6,
    );
    expect(s.relays[key]?.on).toBe(false);
  });

  it('clears an old error when a new command starts', () => {
    const failed = resolveCommand(
      markPending(loaded(), key, true, 5),
      key,
      { ok: false, id: null, on: null, error: 'timeout', detail: null },
      6,
    );
    expect(relaySwitchState(markPending(failed, key, true, 7), key)).toBe('pending');
    expect(markPending(failed, key, true, 7).commandErrors[key]).toBeUndefined();
  });
});

describe('normalizeOutcome', () => {
  it('passes a well-formed outcome through', () => {
    expect(normalizeOutcome({ ok: true, id: 'c', on: true, error: null, detail: null })).toEqual({
      ok: true,
      id: 'c',
      on: true,
      error: null,
      detail: null,
    });
  });

  it('reads the HTTP error body', () => {
    expect(normalizeOutcome({ error: 'unknown_relay', detail: 'no relay x' }, 404)).toEqual({
      ok: false,
      id: null,
      on: null,
      error: 'unknown_relay',
      detail: 'no relay x',
    });
  });

  it('never turns garbage into a success', () => {
    const o = normalizeOutcome('<html>', 502);
    expect(o.ok).toBe(false);
    expect(o.error).toBe('http_502');
    expect(o.detail).toContain('HTTP 502');
    expect(normalizeOutcome({ ok: true }, 500).ok).toBe(false);
    expect(normalizeOutcome(undefined).error).toBe('bad_answer');
  });
});

describe('card states', () => {
  it('is good, bad, or stale (quality stale or gateway offline)', () => {
    const s = loaded();
    expect(deviceCardState(s, temp(1, 1)).state).toBe('good');
    expect(deviceCardState(s, temp(null, 1, 'bad')).state).toBe('bad');
    expect(deviceCardState(s, temp(1, 1, 'stale')).state).toBe('stale');
    const offline = {
      ...s,
      gateways: { line1: gatewayEntry({ online: false, status: 'offline' }) },
    };
    expect(deviceCardState(offline, temp(1, 1))).toEqual({ state: 'stale', gateway: 'offline' });
  });

  it('is stale while its gateway is silent, though still connected', () => {
    const silent = {
      ...loaded(),
      gateways: {
        line1: gatewayEntry({ status: 'silent', silent_since: 1700000000, silent_after: 6 }),
      },
    };
    expect(deviceCardState(silent, temp(1, 1))).toEqual({ state: 'stale', gateway: 'silent' });
    expect(gatewayStatus(silent.gateways.line1)).toBe('silent');
    expect(silentGateways(silent)).toEqual([{ id: 'line1', name: 'Line 1', since: 1700000000 }]);
  });

  it('shows an unknown gateway as online (its data decides) and others by their status', () => {
    expect(gatewayStatus(gatewayEntry({ online: false, status: 'offline' }))).toBe('offline');
    expect(gatewayStatus(gatewayEntry({}))).toBe('online');
    expect(gatewayStatus(undefined)).toBe('online');
  });

  it('lists gateways seen only through data, but not the bridge', () => {
    const s = {
      ...loaded(),
      devices: { ...loaded().devices, 'line2/x': { ...temp(1, 1), gateway: 'line2', id: 'x' } },
      systemStats: { bridge: {} },
    };
    expect(gatewayIds(s)).toEqual(['line1', 'line2']);
  });
});

describe('a device announced but not read yet', () => {
  it('has no history point and shows as stale until its first reading', () => {
    const announced: Device = { ...temp(null, 0, 'stale'), ts: null };
    expect(extendHistory([], announced, limits)).toEqual([]);
    expect(deviceCardState(loaded(), announced).state).toBe('stale');
  });
});
