// Text the operator reads: ages, values, uptimes. Pure, so every wording is unit-tested.
import type { DeviceValue } from './types';

/**
 * "live" while younger than `freshMs`, then "12 s old", "4 min old", "2 h old", "3 d old".
 * The `ago` style ("just now", "12 s ago") is for readings that are expected to rest a while.
 */
export function formatAge(ageMs: number, freshMs: number, style: 'old' | 'ago' = 'old'): string {
  const age = Math.max(0, ageMs);
  if (age < freshMs) return style === 'old' ? 'live' : 'just now';
  const s = Math.floor(age / 1000);
  const text =
    s < 60
      ? `${s} s`
      : s < 3600
        ? `${Math.floor(s / 60)} min`
        : s < 86400
          ? `${Math.floor(s / 3600)} h`
          : `${Math.floor(s / 86400)} d`;
  return `${text} ${style}`;
}

export function formatValue(value: DeviceValue): string {
  if (value === null) return '—';
  if (typeof value === 'boolean') return value ? 'On' : 'Off';
  if (!Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  const digits = abs >= 1000 ? 0 : abs >= 10 ? 1 : 2;
  return value.toFixed(digits);
}

export function formatPercent(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? `${value.toFixed(1)} %` : '—';
}

export function formatTemperature(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? `${value.toFixed(1)} °C` : '—';
}

export function formatUptime(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** An absolute time for a tooltip: "2026-12-01 02:31:05 UTC", the form the bridge's errors use. */
export function formatUtc(unixS: number): string {
  if (!Number.isFinite(unixS)) return '—';
  return `${new Date(unixS * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** How long a silent gateway has said nothing: "nothing received for 12 s". */
export function formatSilence(sinceS: number | null | undefined, nowMs: number): string {
  if (typeof sinceS !== 'number' || !Number.isFinite(sinceS)) return 'nothing received';
  return `nothing received for ${formatAge(nowMs - sinceS * 1000, 0, 'old').replace(' old', '')}`;
}
