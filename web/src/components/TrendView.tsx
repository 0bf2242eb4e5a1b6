// A device's trend: time and value axes, the value under the cursor with its absolute time,
// drag to zoom, earlier/later to pan, 1 h / 24 h / 7 d / custom, the min–max band when the
// bridge summarised several readings per point, several devices (one value axis per unit).
// Drawn by uPlot on a canvas: thousands of points stay fast where SVG would not.
import { type FormEvent, useEffect, useId, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatValue } from '../format';
import { type Formats, useFormats } from '../i18n';
import type { PlantState } from '../plant';
import { ProblemError, problemText } from '../problems';
import {
  alignSeries,
  customRange,
  historyPath,
  isDownsampled,
  PRESETS,
  type Preset,
  panRange,
  parseHistory,
  presetRange,
  type Series,
  selectedRange,
  type TimeRange,
  unitScales,
  zoomRange,
} from '../trend';

/** An alarm limit to draw on a device's trend. */
export interface TrendLimit {
  value: number;
  label: string;
}

/**
 * Where alarm limits come from: PlantScreen passes each device's analog alarm limits (the
 * `limit` of its lolo/lo/hi/hihi alarms, web/src/alarms.ts `limitsByDevice`).
 */
export type LimitsOf = (deviceKey: string) => readonly TrendLimit[];

// Distinguishable, and at least 3:1 against both the light and the dark panel.
const COLOURS = ['#2563eb', '#c2410c', '#15803d', '#9333ea', '#0e7490', '#be123c'];
const CHART_HEIGHT = 320;
const stepped = uPlot.paths.stepped;

interface Props {
  initial: string;
  plant: PlantState;
  loadHistory: (path: string) => Promise<unknown>;
  onClose: () => void;
  limitsOf?: LimitsOf;
  nowS?: () => number;
}

type Shown = Preset | 'custom' | 'zoomed';

interface Loaded {
  range: TimeRange;
  series: Series[];
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v === '' ? fallback : v;
}

const toInput = (s: number) => new Date(s * 1000).toISOString().slice(0, 16);

export function TrendView({ initial, plant, loadHistory, onClose, limitsOf, nowS }: Props) {
  const f = useFormats();
  const { t } = f;
  const id = useId();
  const now = nowS ?? (() => Date.now() / 1000);
  const dialog = useRef<HTMLDialogElement>(null);
  const chartBox = useRef<HTMLDivElement>(null);
  const [keys, setKeys] = useState<string[]>([initial]);
  const [shown, setShown] = useState<Shown>('1h');
  const [range, setRange] = useState<TimeRange>(() => presetRange('1h', now()));
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const [customFrom, setCustomFrom] = useState('');
  const [customTo, setCustomTo] = useState('');
  const [customError, setCustomError] = useState<string | null>(null);

  useEffect(() => {
    const d = dialog.current;
    if (d !== null && !d.open) d.showModal();
  }, []);

  // Ask for as many points as the chart is wide: more could not be seen.
  useEffect(() => {
    let current = true;
    const points = Math.max(200, chartBox.current?.clientWidth ?? 800);
    setError(null);
    Promise.all(keys.map((k) => loadHistory(historyPath(k, range, points)).then(parseHistory)))
      .then((series) => {
        if (current) setLoaded({ range, series });
      })
      .catch((err: unknown) => {
        if (current) setError(err);
      });
    return () => {
      current = false;
    };
  }, [keys, range, loadHistory]);

  const names = keys.map((k) => plant.devices[k]?.name ?? k);
  const units = keys.map((k) => plant.devices[k]?.unit ?? null);
  const aligned = useMemo(() => (loaded ? alignSeries(loaded.series) : null), [loaded]);
  const banded = loaded?.series.map(isDownsampled) ?? [];

  const zoomTo = (r: TimeRange) => {
    setShown('zoomed');
    setRange(r);
  };
  const zoomRef = useRef(zoomTo);
  zoomRef.current = zoomTo;
  // The chart is drawn once per answer; the labels it needs are read as they are then.
  const labels = useRef({ keys, names, units });
  labels.current = { keys, names, units };

  useEffect(() => {
    const box = chartBox.current;
    if (box === null || loaded === null || aligned === null) return;
    const { keys, names, units } = labels.current;
    const banded = loaded.series.map(isDownsampled);
    const text = cssVar('--text', '#111827');
    const grid = cssVar('--border', '#d1d5db');
    const scales = unitScales(units);
    const scaleKey = (unit: string | null) => `unit:${unit ?? ''}`;
    const levelOnly = (unit: string) =>
      loaded.series.every((s, i) => (units[i] ?? '') !== unit || s.stepSeries);
    const data: uPlot.AlignedData = [aligned.xs];
    const series: uPlot.Series[] = [{ value: (_u, v) => (v == null ? '' : f.dateTime(v)) }];
    const bands: uPlot.Band[] = [];
    const lineIndex: number[] = [];
    loaded.series.forEach((s, i) => {
      const colour = COLOURS[i % COLOURS.length] as string;
      const col = aligned.columns[i];
      if (col === undefined) return;
      lineIndex.push(data.length);
      data.push(col.line as number[]);
      series.push({
        label: names[i] ?? s.key,
        scale: scaleKey(units[i] ?? null),
        stroke: colour,
        width: 2,
        spanGaps: s.stepSeries,
        ...(s.stepSeries && stepped !== undefined ? { paths: stepped({ align: 1 }) } : {}),
      });
      if (banded[i]) {
        const quiet = { scale: scaleKey(units[i] ?? null), stroke: 'transparent', width: 0 };
        data.push(col.max as number[], col.min as number[]);
        series.push({ ...quiet, label: `${names[i]} max` }, { ...quiet, label: `${names[i]} min` });
        bands.push({ series: [data.length - 2, data.length - 1], fill: `${colour}33` });
      }
    });
    const axes: uPlot.Axis[] = [{ stroke: text, grid: { stroke: grid, width: 1 } }];
    scales.forEach((unit, i) => {
      const level = levelOnly(unit);
      axes.push({
        scale: `unit:${unit}`,
        side: i % 2 === 0 ? 3 : 1,
        ...(unit === '' ? {} : { label: unit }),
        stroke: text,
        grid: { show: i === 0, stroke: grid, width: 1 },
        ...(level
          ? {
              splits: () => [0, 1],
              values: (_u, vals) => vals.map((v) => (v ? t('values.on') : t('values.off'))),
            }
          : {}),
      });
    });
    const scaleOpts: uPlot.Scales = {
      x: { time: true, range: [loaded.range.from, loaded.range.to] },
    };
    for (const unit of scales) {
      if (levelOnly(unit)) scaleOpts[`unit:${unit}`] = { range: [-0.1, 1.1] };
    }
    const drawLimits = (u: uPlot) => {
      if (limitsOf === undefined) return;
      const ctx = u.ctx;
      keys.forEach((k, i) => {
        for (const limit of limitsOf(k)) {
          const y = u.valToPos(limit.value, scaleKey(units[i] ?? null), true);
          // A limit beyond the scale shown is not drawn over the axes.
          if (!Number.isFinite(y) || y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
          ctx.save();
          ctx.strokeStyle = COLOURS[i % COLOURS.length] as string;
          ctx.setLineDash([6, 4]);
          ctx.beginPath();
          ctx.moveTo(u.bbox.left, y);
          ctx.lineTo(u.bbox.left + u.bbox.width, y);
          ctx.stroke();
          ctx.fillStyle = text;
          ctx.fillText(limit.label, u.bbox.left + 4, y - 4);
          ctx.restore();
        }
      });
    };
    const plot = new uPlot(
      {
        width: box.clientWidth,
        height: CHART_HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: true, y: false, setScale: false } },
        scales: scaleOpts,
        series,
        bands,
        axes,
        hooks: {
          setCursor: [(u) => setCursor(u.cursor.idx ?? null)],
          setSelect: [
            (u) => {
              if (u.select.width <= 0) return;
              const picked = selectedRange(
                u.posToVal(u.select.left, 'x'),
                u.posToVal(u.select.left + u.select.width, 'x'),
              );
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              if (picked !== null) zoomRef.current(picked);
            },
          ],
          draw: [drawLimits],
        },
      },
      data,
      box,
    );
    // What the canvas shows, for tests and tools that cannot read pixels.
    box.dataset.lines = String(lineIndex.length);
    box.dataset.axes = ['time', ...scales].join('|');
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: box.clientWidth, height: CHART_HEIGHT }),
    );
    resize.observe(box);
    setCursor(null);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
    // A language change redraws the axes in its digits.
  }, [loaded, aligned, limitsOf, f, t]);

  const pickPreset = (p: Preset) => {
    setShown(p);
    setRange(presetRange(p, now()));
  };
  const applyCustom = (e: FormEvent) => {
    e.preventDefault();
    const r = customRange(customFrom, customTo);
    if (typeof r === 'string') {
      setCustomError(t(`trend.invalid.${r}`));
      return;
    }
    setCustomError(null);
    setShown('custom');
    setRange(r);
  };
  const openCustom = () => {
    setShown('custom');
    setCustomFrom(toInput(range.from));
    setCustomTo(toInput(range.to));
  };

  const readout = cursorReadout(f, cursor, aligned, loaded, names, units);
  const others = Object.entries(plant.devices).filter(([k]) => !keys.includes(k));
  const busy = loaded === null || loaded.range !== range || loaded.series.length !== keys.length;
  return (
    <dialog
      ref={dialog}
      className="trend"
      aria-labelledby={`${id}-title`}
      onClose={onClose}
      data-testid="trend"
    >
      <header className="trend-head">
        <h2 id={`${id}-title`}>
          {t('trend.title')}: {names.join(t('connection.listSeparator'))}
        </h2>
        <button type="button" className="trend-close" onClick={() => dialog.current?.close()}>
          {t('trend.close')}
        </button>
      </header>
      <div className="trend-controls">
        <fieldset className="trend-range">
          <legend className="sr-only">{t('trend.range')}</legend>
          {(Object.keys(PRESETS) as Preset[]).map((p) => (
            <button
              key={p}
              type="button"
              aria-pressed={shown === p}
              data-testid={`trend-${p}`}
              onClick={() => pickPreset(p)}
            >
              {t(`trend.presets.${p}`)}
            </button>
          ))}
          <button type="button" aria-pressed={shown === 'custom'} onClick={openCustom}>
            {t('trend.custom')}
          </button>
        </fieldset>
        <div className="trend-pan">
          <button type="button" onClick={() => zoomTo(panRange(range, -0.5))}>
            {t('trend.earlier')}
          </button>
          <button type="button" onClick={() => zoomTo(zoomRange(range, 2))}>
            {t('trend.zoomOut')}
          </button>
          <button type="button" onClick={() => zoomTo(panRange(range, 0.5))}>
            {t('trend.later')}
          </button>
        </div>
      </div>
      {shown === 'custom' && (
        <form className="trend-custom" onSubmit={applyCustom} noValidate>
          <label>
            {t('trend.from')}{' '}
            <input
              type="datetime-local"
              value={customFrom}
              onChange={(e) => setCustomFrom(e.target.value)}
            />
          </label>
          <label>
            {t('trend.to')}{' '}
            <input
              type="datetime-local"
              value={customTo}
              onChange={(e) => setCustomTo(e.target.value)}
            />
          </label>
          <button type="submit">{t('trend.apply')}</button>
          {customError !== null && (
            <p className="trend-error" role="alert">
              {customError}
            </p>
          )}
        </form>
      )}
      <ul className="trend-series" aria-label={t('trend.title')}>
        {keys.map((k, i) => (
          <li key={k}>
            <span
              className="trend-swatch"
              style={{ background: COLOURS[i % COLOURS.length] }}
              aria-hidden="true"
            />
            {names[i]}
            {units[i] ? ` (${units[i]})` : ''}
            {keys.length > 1 && (
              <button
                type="button"
                className="dismiss"
                aria-label={t('trend.remove', { name: names[i] ?? k })}
                onClick={() => setKeys(keys.filter((x) => x !== k))}
              >
                ×
              </button>
            )}
          </li>
        ))}
        <li>
          <select
            aria-label={t('trend.add')}
            data-testid="trend-add"
            value=""
            onChange={(e) => {
              if (e.target.value !== '') setKeys([...keys, e.target.value]);
            }}
          >
            <option value="">{t('trend.addPlaceholder')}</option>
            {others.map(([k, d]) => (
              <option key={k} value={k}>
                {plant.gateways[d.gateway]?.name ?? d.gateway} · {d.name ?? d.id}
                {d.unit ? ` (${d.unit})` : ''}
              </option>
            ))}
          </select>
        </li>
      </ul>
      <output className="trend-cursor" data-testid="trend-cursor" aria-live="off">
        {readout ?? t('trend.hint')}
      </output>
      <div
        ref={chartBox}
        className="trend-chart"
        role="img"
        aria-label={t('trend.chart', {
          names: names.join(t('connection.listSeparator')),
          from: f.dateTime(range.from),
          to: f.dateTime(range.to),
        })}
        aria-busy={busy}
        data-testid="trend-chart"
        data-from={loaded?.range.from}
        data-to={loaded?.range.to}
        data-points={loaded?.series.map((s) => s.ts.length).join(',')}
      />
      {error !== null && (
        <p className="trend-error" role="alert" data-testid="trend-error">
          {error instanceof ProblemError
            ? problemText(f, error.problem, error.detail)
            : problemText(f, 'unreachable', String(error))}
        </p>
      )}
      {error === null && busy && <p className="muted">{t('trend.loading')}</p>}
      {!busy && loaded?.series.every((s) => s.ts.length === 0) && (
        <p className="muted" data-testid="trend-empty">
          {t('trend.empty')}
        </p>
      )}
      {!busy && banded.some(Boolean) && <p className="muted">{t('trend.band')}</p>}
    </dialog>
  );
}

/** "2026-12-01 02:31:05 UTC · Temperature 21.4 °C · Running On" for the point under the cursor. */
function cursorReadout(
  f: Formats,
  idx: number | null,
  aligned: ReturnType<typeof alignSeries> | null,
  loaded: Loaded | null,
  names: string[],
  units: (string | null)[],
): string | null {
  if (idx === null || aligned === null || loaded === null) return null;
  const ts = aligned.xs[idx];
  if (ts === undefined) return null;
  const parts = [f.dateTime(ts)];
  aligned.columns.forEach((col, i) => {
    // Where only another series has a point, this one's is the last before it.
    let j = idx;
    while (j > 0 && col.line[j] === undefined) j -= 1;
    const v = col.line[j];
    const step = loaded.series[i]?.stepSeries === true;
    const shownValue =
      typeof v !== 'number'
        ? '—'
        : step
          ? f.t(v >= 0.5 ? 'values.on' : 'values.off')
          : formatValue(f, v);
    const unit = !step && units[i] && typeof v === 'number' ? ` ${units[i]}` : '';
    parts.push(`${names[i]} ${shownValue}${unit}`);
  });
  return parts.join(' · ');
}
