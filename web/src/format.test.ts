import { describe, expect, it } from 'vitest';
import {
  formatAge,
  formatPercent,
  formatSilence,
  formatTemperature,
  formatUptime,
  formatUtc,
  formatValue,
} from './format';

describe('formatAge', () => {
  it.each([
    [0, 'live'],
    [2999, 'live'],
    [3000, '3 s old'],
    [12_400, '12 s old'],
    [59_999, '59 s old'],
    [60_000, '1 min old'],
    [3_600_000, '1 h old'],
    [90_000_000, '1 d old'],
    [-5000, 'live'], // a gateway clock slightly ahead of the browser's
  ])('%i ms is %s', (ms, text) => {
    expect(formatAge(ms, 3000)).toBe(text);
  });
});

describe('formatAge, ago style', () => {
  it('is neutral about a reading that rests', () => {
    expect(formatAge(100, 3000, 'ago')).toBe('just now');
    expect(formatAge(25_000, 3000, 'ago')).toBe('25 s ago');
  });
});

describe('formatValue', () => {
  it.each([
    [99.5, '99.5'],
    [21.44, '21.4'],
    [2.345, '2.35'],
    [-3, '-3.00'],
    [1234.5, '1235'],
    [true, 'On'],
    [false, 'Off'],
    [null, '—'],
    [Number.NaN, '—'],
  ])('%s is shown as %s', (v, text) => {
    expect(formatValue(v as number | boolean | null)).toBe(text);
  });
});

describe('stats', () => {
  it('formats percentages, temperatures and uptimes', () => {
    expect(formatPercent(12.34)).toBe('12.3 %');
    expect(formatPercent(null)).toBe('—');
    expect(formatTemperature(48.06)).toBe('48.1 °C');
    expect(formatTemperature(undefined)).toBe('—');
    expect(formatUptime(42)).toBe('42 s');
    expect(formatUptime(125)).toBe('2 min');
    expect(formatUptime(3 * 3600 + 5 * 60)).toBe('3 h 5 min');
    expect(formatUptime(86400 * 2 + 3600 * 4 + 1)).toBe('2 d 4 h');
    expect(formatUptime(-1)).toBe('—');
  });
});

describe('silence', () => {
  it('gives an absolute UTC time and a readable duration', () => {
    expect(formatUtc(1764556265)).toBe('2025-12-01 02:31:05 UTC');
    expect(formatUtc(Number.NaN)).toBe('—');
    expect(formatSilence(1000, 1_012_400)).toBe('nothing received for 12 s');
    expect(formatSilence(1000, 1_000_000 + 180_000)).toBe('nothing received for 3 min');
    expect(formatSilence(null, 5)).toBe('nothing received');
  });
});
