import { describe, expect, it } from 'vitest';
import {
  formatAge,
  formatPercent,
  formatSilence,
  formatTemperature,
  formatUptime,
  formatValue,
} from './format';
import { formatsFor } from './i18n';

const en = formatsFor({ language: 'en', digits: 'native' });

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
    expect(formatAge(en, ms, 3000)).toBe(text);
  });
});

describe('formatAge, ago style', () => {
  it('is neutral about a reading that rests', () => {
    expect(formatAge(en, 100, 3000, 'ago')).toBe('just now');
    expect(formatAge(en, 25_000, 3000, 'ago')).toBe('25 s ago');
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
    expect(formatValue(en, v as number | boolean | null)).toBe(text);
  });
});

describe('stats', () => {
  it('formats percentages, temperatures and uptimes', () => {
    expect(formatPercent(en, 12.34)).toBe('12.3 %');
    expect(formatPercent(en, null)).toBe('—');
    expect(formatTemperature(en, 48.06)).toBe('48.1 °C');
    expect(formatTemperature(en, undefined)).toBe('—');
    expect(formatUptime(en, 42)).toBe('42 s');
    expect(formatUptime(en, 125)).toBe('2 min');
    expect(formatUptime(en, 3 * 3600 + 5 * 60)).toBe('3 h 5 min');
    expect(formatUptime(en, 86400 * 2 + 3600 * 4 + 1)).toBe('2 d 4 h');
    expect(formatUptime(en, -1)).toBe('—');
  });
});

describe('silence', () => {
  it('gives an absolute UTC time and a readable duration', () => {
    expect(en.dateTime(1764556265)).toBe('2025-12-01 02:31:05 UTC');
    expect(en.dateTime(Number.NaN)).toBe('—');
    expect(formatSilence(en, 1000, 1_012_400)).toBe('nothing received for 12 s');
    expect(formatSilence(en, 1000, 1_000_000 + 180_000)).toBe('nothing received for 3 min');
    expect(formatSilence(en, null, 5)).toBe('nothing received');
  });
});

describe('Persian', () => {
  const fa = formatsFor({ language: 'fa', digits: 'native' });
  const faLatin = formatsFor({ language: 'fa', digits: 'latin' });

  it('writes numbers with Persian digits and decimal separator, or Latin ones when asked', () => {
    expect(formatValue(fa, 21.44)).toBe('۲۱٫۴');
    expect(formatValue(faLatin, 21.44)).toBe('21.4');
    expect(formatValue(fa, true)).toBe('روشن');
    expect(formatPercent(fa, 12.34)).toBe('۱۲٫۳٪');
    expect(formatAge(fa, 12_400, 3000)).toBe('۱۲ ثانیه پیش');
    expect(formatUptime(faLatin, 3 * 3600 + 5 * 60)).toBe('3 ساعت و 5 دقیقه');
  });

  it('gives absolute times in the Solar Hijri calendar, in UTC', () => {
    // 2025-12-01 is 10 Azar 1404.
    expect(fa.dateTime(1764556265)).toBe('۱۰ آذر ۱۴۰۴ ساعت ۰۲:۳۱:۰۵ (UTC)');
    expect(faLatin.dateTime(1764556265)).toBe('10 آذر 1404 ساعت 02:31:05 (UTC)');
  });
});

describe('digits', () => {
  const fa = formatsFor({ language: 'fa', digits: 'native' });
  const faLatin = formatsFor({ language: 'fa', digits: 'latin' });
  const en = formatsFor({ language: 'en', digits: 'native' });
  const toLatin = (s: string) =>
    s
      .replace(/[۰-۹]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
      .replace('٫', '.')
      .replace(/[\u200e\u2212]/g, (c) => (c === '\u2212' ? '-' : ''));
  const values = [0, 0.005, -0.005, 1, -3, 9.995, 12.345, 999.95, 1000, 123456.7, -98765.4321];

  it.each(values)('%d is the same number in Persian digits, Latin digits and English', (v) => {
    for (const digits of [0, 1, 2]) {
      const english = en.number(v, digits);
      expect(toLatin(fa.number(v, digits))).toBe(english);
      expect(toLatin(faLatin.number(v, digits))).toBe(english);
      expect(fa.number(v, digits)).not.toMatch(/[0-9]/);
    }
  });
});
