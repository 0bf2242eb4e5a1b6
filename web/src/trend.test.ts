import { describe, expect, it } from 'vitest';
import {
  alignSeries,
  customRange,
  historyPath,
  isDownsampled,
  panRange,
  parseHistory,
  presetRange,
  selectedRange,
  unitScales,
  zoomRange,
} from './trend';

const answer = (points: number[][], step = 60, stepSeries = false) => ({
  key: 'line1/temperature',
  from: 0,
  to: 1000,
  step,
  tier: 'minute',
  step_series: stepSeries,
  columns: ['ts', 'min', 'avg', 'max', 'last'],
  points,
});

describe('ranges', () => {
  it('ends a preset now and reaches back its length', () => {
    // A few seconds short, so that the bridge's tier that keeps exactly that span serves it.
    expect(presetRange('1h', 10_000.2)).toEqual({ from: 6406, to: 10_001 });
    expect(presetRange('7d', 1e9).to - presetRange('7d', 1e9).from).toBe(604_795);
  });

  it('zooms around the centre, never below 10 s, and pans by a share of the width', () => {
    expect(zoomRange({ from: 100, to: 200 }, 2)).toEqual({ from: 50, to: 250 });
    expect(zoomRange({ from: 100, to: 110 }, 0.1)).toEqual({ from: 100, to: 110 });
    expect(panRange({ from: 100, to: 200 }, -0.5)).toEqual({ from: 50, to: 150 });
  });

  it('takes a drag either way and ignores one too short to mean a range', () => {
    expect(selectedRange(300.5, 100.2)).toEqual({ from: 100, to: 301 });
    expect(selectedRange(100, 103)).toBeNull();
  });

  it('reads a custom range as UTC and says what is missing or wrong', () => {
    expect(customRange('2026-01-31T06:00', '2026-01-31T07:00')).toEqual({
      from: 1769839200,
      to: 1769842800,
    });
    expect(customRange('', '')).toBe('missingBoth');
    expect(customRange('', '2026-01-31T06:00')).toBe('missingFrom');
    expect(customRange('2026-01-31T06:00', '')).toBe('missingTo');
    expect(customRange('2026-01-31T07:00', '2026-01-31T06:00')).toBe('tooShort');
  });

  it('asks the bridge for a range with at most so many points, ids escaped', () => {
    expect(historyPath('line 1/t°', { from: 1, to: 2 }, 20_000)).toBe(
      'api/devices/line%201/t%C2%B0/history?from=1&to=2&points=10000',
    );
  });
});

describe('reading a history answer', () => {
  it('splits the points into columns and skips a point it cannot plot', () => {
    const s = parseHistory(
      answer([[0, 1, 2, 3, 2], [60, 1, null, 3, 2] as number[], [120, 2, 2, 2, 2]]),
    );
    expect(s.ts).toEqual([0, 120]);
    expect(s.avg).toEqual([2, 2]);
    expect(isDownsampled(s)).toBe(true);
  });

  it('names what is wrong with an answer it cannot read', () => {
    expect(() => parseHistory('nope')).toThrow(/not JSON/);
    expect(() => parseHistory({ key: 'x' })).toThrow(/step or points/);
  });

  it('calls raw per-second points or flat buckets not downsampled (no band)', () => {
    expect(isDownsampled(parseHistory(answer([[0, 1, 1, 1, 1]], 1)))).toBe(false);
    expect(isDownsampled(parseHistory(answer([[0, 1, 1, 1, 1]], 60)))).toBe(false);
  });
});

describe('several series on one time axis', () => {
  it('puts each value at its time, undefined where only the other has a point', () => {
    const a = parseHistory(
      answer([
        [0, 1, 1, 1, 1],
        [60, 2, 2, 2, 2],
      ]),
    );
    const b = parseHistory({ ...answer([[30, 5, 6, 7, 7]]), key: 'line1/humidity' });
    const { xs, columns } = alignSeries([a, b]);
    expect(xs).toEqual([0, 30, 60]);
    expect(columns[0]?.line).toEqual([1, undefined, 2]);
    expect(columns[1]?.line).toEqual([undefined, 6, undefined]);
    expect(columns[1]?.min).toEqual([undefined, 5, undefined]);
    expect(columns[1]?.max).toEqual([undefined, 7, undefined]);
  });

  it('breaks an analog line at a gap of more than one step, but holds a step series level', () => {
    const analog = parseHistory(
      answer([
        [0, 1, 1, 1, 1],
        [600, 2, 2, 2, 2],
      ]),
    );
    expect(alignSeries([analog]).columns[0]?.line).toEqual([1, null, 2]);
    const level = parseHistory(
      answer(
        [
          [0, 0, 0, 0, 0],
          [600, 1, 1, 1, 1],
        ],
        60,
        true,
      ),
    );
    expect(alignSeries([level])).toEqual({
      xs: [0, 600],
      columns: [{ line: [0, 1], min: [0, 1], max: [0, 1] }],
    });
  });

  it('gives each unit one axis, in order of first use', () => {
    expect(unitScales(['°C', '%', '°C', null])).toEqual(['°C', '%', '']);
  });
});
