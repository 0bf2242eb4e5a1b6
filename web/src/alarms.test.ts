import { describe, expect, it } from 'vitest';
import {
  compareAlarms,
  countsByPriority,
  limitsByDevice,
  mergeAlarms,
  newlyRaised,
  sortedAlarms,
  worstAlarmOf,
  worstAlarms,
} from './alarms';
import { testAlarm as alarm } from './testAlarm';
import type { Alarm } from './types';

describe('alarm list', () => {
  it('puts active first, then priority, then the newest', () => {
    const alarms = {
      a: alarm({ priority: 'low', raised: 300 }),
      b: alarm({ priority: 'critical', raised: 100 }),
      c: alarm({ priority: 'critical', raised: 200 }),
      d: alarm({ priority: 'critical', active: false, state: 'rtn_unacked' }),
      e: alarm({ state: 'normal', active: false, acked: true }),
    };
    expect(sortedAlarms(alarms, 1000).map(([k]) => k)).toEqual(['c', 'b', 'a', 'd']);
    expect(compareAlarms(alarms.a, alarms.a)).toBe(0);
  });

  it('keeps a shelved normal alarm listed until its shelf ends', () => {
    const shelved = {
      s: alarm({ state: 'normal', active: false, acked: true, shelved_until: 50 }),
    };
    expect(sortedAlarms(shelved, 40)).toHaveLength(1);
    expect(sortedAlarms(shelved, 60)).toHaveLength(0);
  });
});

describe('alarms after a delta', () => {
  it('replaces what changed and drops an alarm removed from its gateway (null)', () => {
    const held = { a: alarm({ priority: 'low' }), b: alarm({ priority: 'high' }) };
    const after = mergeAlarms(held, { a: null, c: alarm({ priority: 'critical' }) });
    expect(Object.keys(after).sort()).toEqual(['b', 'c']);
    expect(after.c?.priority).toBe('critical');
    expect(mergeAlarms(held, undefined)).toBe(held);
  });
});

describe('banner counts', () => {
  it('counts what is owed: not acknowledged, not shelved, not suppressed', () => {
    const alarms = {
      a: alarm({ priority: 'critical' }),
      b: alarm({ priority: 'critical', acked: true, state: 'acked' }),
      c: alarm({ priority: 'high', active: false, state: 'rtn_unacked' }),
      d: alarm({ priority: 'medium', shelved_until: 2000 }),
      e: alarm({ priority: 'low', suppressed: true }),
    };
    expect(countsByPriority(alarms, 1000)).toEqual({ critical: 1, high: 1, medium: 0, low: 0 });
  });

  it('stays exact over a flood', () => {
    const alarms: Record<string, Alarm> = {};
    for (let i = 0; i < 1000; i += 1) alarms[`k${i}`] = alarm({ priority: i % 2 ? 'low' : 'high' });
    expect(countsByPriority(alarms, 0)).toEqual({ critical: 0, high: 500, medium: 0, low: 500 });
  });
});

describe('marks and sound', () => {
  it('marks a device with its worst active alarm', () => {
    const alarms = {
      a: alarm({ condition: 'hi', priority: 'high' }),
      b: alarm({ condition: 'hihi', priority: 'critical' }),
      c: alarm({ source: 'pressure', priority: 'low' }),
    };
    expect(worstAlarmOf(alarms, 'line1', 'temperature', 0)?.condition).toBe('hihi');
    expect(worstAlarmOf(alarms, 'line1', 'humidity', 0)).toBeNull();
    expect(worstAlarmOf({ s: alarm({ suppressed: true }) }, 'line1', 'temperature', 0)).toBeNull();
    expect(worstAlarms(alarms, 0)).toEqual({
      'line1/temperature': alarms.b,
      'line1/pressure': alarms.c,
    });
    expect(worstAlarms({ s: alarm({ shelved_until: 10 }) }, 0)).toEqual({});
  });

  it('announces only new critical and high alarms', () => {
    const before = { a: alarm({ raised: 1 }) };
    const after = {
      a: alarm({ raised: 1 }),
      b: alarm({ priority: 'critical' }),
      c: alarm({ priority: 'low' }),
    };
    expect(newlyRaised(before, after, 0, ['critical', 'high'])).toEqual(['b']);
  });
});

describe('trend limits', () => {
  it("lists each device's analog limits, lowest first, normal ones too", () => {
    const alarms = {
      a: alarm({ condition: 'hihi', limit: 90, active: false, state: 'normal' }),
      b: alarm({ condition: 'lo', limit: 10 }),
      c: alarm({ condition: 'hi', limit: 80 }),
      d: alarm({ source: 'door', condition: 'state', limit: null }),
      e: alarm({ source: 'gateway', condition: 'offline', limit: null }),
      f: alarm({ gateway: 'line2', limit: 70 }),
    };
    expect(limitsByDevice(alarms)).toEqual({
      'line1/temperature': [
        { condition: 'lo', limit: 10 },
        { condition: 'hi', limit: 80 },
        { condition: 'hihi', limit: 90 },
      ],
      'line2/temperature': [{ condition: 'hi', limit: 70 }],
    });
  });
});
