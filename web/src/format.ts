// Text the operator reads: ages, values, uptimes. Pure, so every wording is unit-tested; the
// words come from the catalogs and the digits from Intl, both through `f` (i18n/locale.ts).
import type { Formats } from './i18n';
import type { DeviceValue } from './types';

/** "12 s", "4 min", "2 h", "3 d": the largest whole unit. */
export function formatDuration(f: Formats, ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 60) return f.t('time.seconds', { n: f.number(s) });
  if (s < 3600) return f.t('time.minutes', { n: f.number(Math.floor(s / 60)) });
  if (s < 86400) return f.t('time.hours', { n: f.number(Math.floor(s / 3600)) });
  return f.t('time.days', { n: f.number(Math.floor(s / 86400)) });
}

/**
 * "live" while younger than `freshMs`, then "12 s old", "4 min old", "2 h old", "3 d old".
 * The `ago` style ("just now", "12 s ago") is for readings that are expected to rest a while.
 */
export function formatAge(
  f: Formats,
  ageMs: number,
  freshMs: number,
  style: 'old' | 'ago' = 'old',
): string {
  const age = Math.max(0, ageMs);
  if (age < freshMs) return style === 'old' ? f.t('time.live') : f.t('time.justNow');
  return f.t(style === 'old' ? 'time.old' : 'time.ago', { duration: formatDuration(f, age) });
}

export function formatValue(f: Formats, value: DeviceValue): string {
  if (value === null) return '—';
  if (typeof value === 'boolean') return value ? f.t('values.on') : f.t('values.off');
  if (!Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  return f.number(value, abs >= 1000 ? 0 : abs >= 10 ? 1 : 2);
}

const finite = (v: number | null | undefined): v is number =>
  typeof v === 'number' && Number.isFinite(v);

export function formatPercent(f: Formats, value: number | null | undefined): string {
  return finite(value) ? f.t('values.percent', { value: f.number(value, 1) }) : '—';
}

export function formatTemperature(f: Formats, value: number | null | undefined): string {
  return finite(value) ? f.t('values.celsius', { value: f.number(value, 1) }) : '—';
}

export function formatUptime(f: Formats, seconds: number | null | undefined): string {
  if (!finite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  if (s < 3600) return formatDuration(f, s * 1000);
  if (s < 86400) {
    return f.t('time.hoursMinutes', {
      h: f.number(Math.floor(s / 3600)),
      m: f.number(Math.floor((s % 3600) / 60)),
    });
  }
  return f.t('time.daysHours', {
    d: f.number(Math.floor(s / 86400)),
    h: f.number(Math.floor((s % 86400) / 3600)),
  });
}

/** How long a silent gateway has said nothing: "nothing received for 12 s". */
export function formatSilence(
  f: Formats,
  sinceS: number | null | undefined,
  nowMs: number,
): string {
  if (!finite(sinceS)) return f.t('gateway.nothingReceived');
  return f.t('gateway.nothingReceivedFor', { duration: formatDuration(f, nowMs - sinceS * 1000) });
}
