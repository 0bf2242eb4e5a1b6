// The trend view's data, pure: which range to ask for, reading the bridge's history answer
// (docs/api.md, "History"), and lining several series up on one time axis for uPlot.

export type Preset = '1h' | '24h' | '7d';

export const PRESETS: Record<Preset, number> = { '1h': 3600, '24h': 86400, '7d': 7 * 86400 };

/** A time range in unix seconds, `[from, to)`. */
export interface TimeRange {
  from: number;
  to: number;
}

/** The shortest range a zoom may reach: below the bridge's finest tier (1 s) there is nothing. */
export const MIN_SPAN_S = 10;

/**
 * A few seconds short of the full span: the bridge keeps each tier for exactly such a span
 * (1 h per second, 7 d per minute), and the start must still be inside it when the request
 * arrives, or the answer comes from the next coarser tier.
 */
export const PRESET_SLACK_S = 5;

export function presetRange(preset: Preset, nowS: number): TimeRange {
  const to = Math.ceil(nowS);
  return { from: to - PRESETS[preset] + PRESET_SLACK_S, to };
}

/** The range `factor` times as wide around the same centre (2: zoom out, 0.5: zoom in). */
export function zoomRange(range: TimeRange, factor: number): TimeRange {
  const mid = (range.from + range.to) / 2;
  const half = Math.max(MIN_SPAN_S, (range.to - range.from) * factor) / 2;
  return { from: Math.floor(mid - half), to: Math.ceil(mid + half) };
}

/** The range moved by `fraction` of its width (negative: earlier). */
export function panRange(range: TimeRange, fraction: number): TimeRange {
  const shift = Math.round((range.to - range.from) * fraction);
  return { from: range.from + shift, to: range.to + shift };
}

/** The range between two chart positions (a drag), whichever way it went; null if too short. */
export function selectedRange(a: number, b: number): TimeRange | null {
  const from = Math.floor(Math.min(a, b));
  const to = Math.ceil(Math.max(a, b));
  return to - from >= MIN_SPAN_S ? { from, to } : null;
}

/** What is wrong with a custom range (the catalogs word it: trend.invalid.*). */
export type RangeProblem = 'missingBoth' | 'missingFrom' | 'missingTo' | 'tooShort';

/** A custom range from two `datetime-local` inputs, read as UTC; else what is wrong with it. */
export function customRange(fromText: string, toText: string): TimeRange | RangeProblem {
  const read = (text: string) => (text === '' ? Number.NaN : Date.parse(`${text}Z`) / 1000);
  const from = read(fromText);
  const to = read(toText);
  if (Number.isNaN(from) && Number.isNaN(to)) return 'missingBoth';
  if (Number.isNaN(from)) return 'missingFrom';
  if (Number.isNaN(to)) return 'missingTo';
  if (to - from < MIN_SPAN_S) return 'tooShort';
  return { from, to };
}

/** The path of a device's history, relative to the dashboard's base URL. */
export function historyPath(key: string, range: TimeRange, points: number): string {
  const [gateway = '', id = ''] = key.split('/');
  const query = new URLSearchParams({
    from: String(range.from),
    to: String(range.to),
    points: String(Math.max(1, Math.min(10_000, Math.round(points)))),
  });
  return `api/devices/${encodeURIComponent(gateway)}/${encodeURIComponent(id)}/history?${query}`;
}

/** One device's history as the bridge answered it, in columns. */
export interface Series {
  key: string;
  step: number;
  tier: string;
  /** Relays and digital inputs: a level held until the next point. */
  stepSeries: boolean;
  ts: number[];
  min: number[];
  avg: number[];
  max: number[];
  last: number[];
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Reads a history answer; anything malformed is an error naming what was wrong. */
export function parseHistory(body: unknown): Series {
  if (typeof body !== 'object' || body === null) throw new Error('the history answer is not JSON');
  const b = body as Record<string, unknown>;
  if (typeof b.key !== 'string' || !isNumber(b.step) || !Array.isArray(b.points)) {
    throw new Error('the history answer lacks its key, step or points');
  }
  const s: Series = {
    key: b.key,
    step: b.step,
    tier: typeof b.tier === 'string' ? b.tier : '',
    stepSeries: b.step_series === true,
    ts: [],
    min: [],
    avg: [],
    max: [],
    last: [],
  };
  for (const p of b.points) {
    if (!Array.isArray(p) || !p.slice(0, 5).every(isNumber)) continue; // a point we cannot plot
    const [ts, min, avg, max, last] = p as number[];
    s.ts.push(ts as number);
    s.min.push(min as number);
    s.avg.push(avg as number);
    s.max.push(max as number);
    s.last.push(last as number);
  }
  return s;
}

/** Whether a series summarises several readings per point, so its min–max band says something. */
export function isDownsampled(s: Series): boolean {
  return s.step > 1 && s.min.some((lo, i) => lo !== s.max[i]);
}

/**
 * A value at each shared time: a number, `null` for a real gap (buckets without data, drawn
 * as a break) or `undefined` where only another series has a point (drawn across).
 */
export type Column = (number | null | undefined)[];

export interface Aligned {
  xs: number[];
  /** Per series, in the order given: the line (avg, or last for step series), min and max. */
  columns: { line: Column; min: Column; max: Column }[];
}

/**
 * Lines several series up on the union of their times, as uPlot wants its data. A gap of more
 * than one step in an analog series gets a `null` one step after its last point, so the line
 * breaks there instead of bridging hours without data; a step series holds its level.
 */
export function alignSeries(list: readonly Series[]): Aligned {
  const gapAt = list.map((s) => {
    const gaps = new Set<number>();
    if (s.stepSeries) return gaps;
    for (let i = 1; i < s.ts.length; i += 1) {
      const prev = s.ts[i - 1] as number;
      if ((s.ts[i] as number) - prev > s.step * 1.5) gaps.add(prev + s.step);
    }
    return gaps;
  });
  const times = new Set<number>();
  list.forEach((s, i) => {
    for (const t of s.ts) times.add(t);
    for (const t of gapAt[i] ?? []) times.add(t);
  });
  const xs = [...times].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const columns = list.map((s, i) => {
    const line: Column = new Array(xs.length).fill(undefined);
    const min: Column = new Array(xs.length).fill(undefined);
    const max: Column = new Array(xs.length).fill(undefined);
    for (const t of gapAt[i] ?? []) {
      const at = index.get(t) as number;
      if (!s.ts.includes(t)) {
        line[at] = null;
        min[at] = null;
        max[at] = null;
      }
    }
    s.ts.forEach((t, j) => {
      const at = index.get(t) as number;
      line[at] = s.stepSeries ? s.last[j] : s.avg[j];
      min[at] = s.min[j];
      max[at] = s.max[j];
    });
    return { line, min, max };
  });
  return { xs, columns };
}

/** One value axis per unit, in the order the units first appear; the first on the left. */
export function unitScales(units: readonly (string | null)[]): string[] {
  const seen: string[] = [];
  for (const u of units) {
    const name = u ?? '';
    if (!seen.includes(name)) seen.push(name);
  }
  return seen;
}
