// Points for an inline SVG sparkline; no chart library for a few hundred points.
import type { HistoryPoint } from './types';

/**
 * SVG `points` for a polyline in a `width` x `height` box, time on x, value on y (higher is
 * up). Booleans plot as 0/1 steps. Fewer than two plottable points give an empty string.
 */
export function sparklinePoints(points: HistoryPoint[], width: number, height: number): string {
  const xy: [number, number][] = [];
  for (const [ts, v] of points) {
    if (typeof v === 'boolean') xy.push([ts, v ? 1 : 0]);
    else if (typeof v === 'number' && Number.isFinite(v)) xy.push([ts, v]);
  }
  if (xy.length < 2) return '';
  const step = points.some(([, v]) => typeof v === 'boolean');
  const t0 = xy[0]?.[0] ?? 0;
  const t1 = xy[xy.length - 1]?.[0] ?? 0;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const [, v] of xy) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const pad = 1;
  const x = (t: number) => (t1 === t0 ? width : ((t - t0) / (t1 - t0)) * width);
  const y = (v: number) =>
    hi === lo ? height / 2 : pad + (1 - (v - lo) / (hi - lo)) * (height - 2 * pad);
  const r = (n: number) => Math.round(n * 100) / 100;
  const out: string[] = [];
  let prevY: number | null = null;
  for (const [t, v] of xy) {
    if (step && prevY !== null) out.push(`${r(x(t))},${r(prevY)}`);
    prevY = y(v);
    out.push(`${r(x(t))},${r(prevY)}`);
  }
  return out.join(' ');
}
