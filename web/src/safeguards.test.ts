import { describe, expect, it } from 'vitest';
import type { InterlockEntry } from './generated/contract';
import { formatsFor } from './i18n';
import { emptyPlant, type PlantState } from './plant';
import { blockedOn as blockedOnIn, normalizeAllToSafe, wearText as wearTextIn } from './safeguards';
import type { Device, Gateway, Relay } from './types';

const en = formatsFor({ language: 'en', digits: 'native' });
const fa = formatsFor({ language: 'fa', digits: 'native' });
const blockedOn = (p: PlantState, r: Relay) => blockedOnIn(en, p, r);
const wearText = (r: Relay) => wearTextIn(en, r);

const relay = (id: string, on: boolean, extra: Partial<Relay> = {}): Relay => ({
  gateway: 'line1',
  id,
  name: id,
  on,
  ts: 1,
  seq: 1,
  cmd: null,
  quality: 'good',
  safe_state: false,
  ...extra,
});

const rule = (id: string, kind: InterlockEntry['kind'], r: string, other: string, state = true) =>
  ({ id, kind, relay: r, other, state, text: `${r} ${kind} ${other}` }) satisfies InterlockEntry;

const gateway: Gateway = {
  id: 'line1',
  online: true,
  name: null,
  version: null,
  ts: 1,
  status: 'online',
  silent_since: null,
  silent_after: null,
  device_order: [],
  relay_order: [],
  interlocks: [
    rule('heater_needs_fan', 'requires', 'heater', 'fan'),
    rule('one_pump', 'excludes', 'pump_a', 'pump_b'),
    rule('guard_shut', 'permissive', 'press', 'door'),
  ],
};

const door = (value: boolean | null): Device => ({
  gateway: 'line1',
  id: 'door',
  name: 'Door',
  kind: 'digital_input',
  unit: null,
  value,
  ts: 1,
  seq: 1,
  quality: 'good',
});

function plant(on: Record<string, boolean>, doorShut: boolean | null = true): PlantState {
  const relays = Object.fromEntries(
    Object.entries(on).map(([id, value]) => [`line1/${id}`, relay(id, value)]),
  );
  return {
    ...emptyPlant,
    version: 1,
    gateways: { line1: gateway },
    relays,
    devices: { 'line1/door': door(doorShut) },
  };
}

describe('blockedOn: what the dashboard shows before the operator tries', () => {
  it('names the rule a switch-on would break, and nothing once it holds', () => {
    const p = plant({ heater: false, fan: false, pump_a: false, pump_b: true, press: false });
    // In the names the page shows: the relays' from their entries, as the operator knows them.
    expect(blockedOn(p, relay('heater', false))).toBe(
      'Interlock heater_needs_fan: heater may be on only while fan is on',
    );
    expect(blockedOn(p, relay('pump_a', false))).toMatch(/^Interlock one_pump/);
    expect(blockedOn(p, relay('press', false))).toBeNull();
    const fanOn = plant({ heater: false, fan: true, pump_a: false, pump_b: false, press: false });
    expect(blockedOn(fanOn, relay('heater', false))).toBeNull();
    expect(blockedOn(fanOn, relay('pump_b', false))).toBeNull();
  });

  it('holds a permissive relay off while its input is in the other state or unknown', () => {
    for (const value of [false, null]) {
      const p = plant({ press: false }, value);
      expect(blockedOn(p, relay('press', false))).toMatch(/^Interlock guard_shut/);
    }
  });

  it('blocks the other side of an excludes rule as well', () => {
    const p = plant({ pump_a: true, pump_b: false });
    expect(blockedOn(p, relay('pump_b', false))).toMatch(/^Interlock one_pump/);
  });
});

describe('wear and all to safe', () => {
  it('puts cycles and on-time in words', () => {
    expect(wearText(relay('r', false))).toBeNull();
    expect(wearText(relay('r', false, { cycles: 1, on_time_s: 42 }))).toBe('1 cycle · 42 s on');
    expect(wearText(relay('r', false, { cycles: 12040, on_time_s: 7200 }))).toBe(
      '12040 cycles · 2.0 h on',
    );
    // Persian: its words and digits.
    expect(wearTextIn(fa, relay('r', false, { cycles: 3, on_time_s: 90 }))).toBe(
      '۳ چرخه · ۱٫۵ دقیقه روشن',
    );
    const p = plant({ heater: false, fan: false });
    expect(blockedOnIn(fa, p, relay('heater', false))).toBe(
      'اینترلاک heater_needs_fan: heater فقط وقتی می‌تواند روشن باشد که fan روشن باشد',
    );
  });

  it('reads the per-gateway answer and a failure of its own alike', () => {
    const answer = normalizeAllToSafe({
      ok: false,
      gateways: {
        line1: { ok: true, id: 'a', on: null, error: null, detail: 'done' },
        line2: { ok: false, id: 'b', on: null, error: 'timeout', detail: 'no answer' },
      },
    });
    expect(answer.ok).toBe(false);
    expect(answer.gateways.line2?.error).toBe('timeout');
    expect(normalizeAllToSafe(null).gateways['*']?.error).toBe('bad_answer');
  });
});
