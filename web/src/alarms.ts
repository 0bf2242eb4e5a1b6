// Alarms as the operator sees them: which to show, in what order, how many are owed. Pure, so
// every rule is unit-tested. The bridge's contract says what an alarm is (docs/api.md).
import type { Alarm, Priority } from './types';

export const PRIORITIES: readonly Priority[] = ['critical', 'high', 'medium', 'low'];

const RANK: Record<Priority, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/**
 * The alarms after a delta: an entry replaces the one held; `null` removes it (its retained
 * topic was cleared because its definition left the gateway's config).
 */
export function mergeAlarms(
  held: Record<string, Alarm>,
  changed: Record<string, Alarm | null> | undefined,
): Record<string, Alarm> {
  if (changed === undefined) return held;
  const out = { ...held };
  for (const [key, alarm] of Object.entries(changed)) {
    if (alarm === null) delete out[key];
    else out[key] = alarm;
  }
  return out;
}

/** Shown in the list: anything not normal, and every shelved or suppressed one (with its note). */
export function listed(alarm: Alarm, nowS: number): boolean {
  return alarm.state !== 'normal' || isShelved(alarm, nowS);
}

export function isShelved(alarm: Alarm, nowS: number): boolean {
  return typeof alarm.shelved_until === 'number' && alarm.shelved_until > nowS;
}

/** Owed an acknowledgement and in front of the operator: neither shelved nor suppressed. */
export function owed(alarm: Alarm, nowS: number): boolean {
  return !alarm.acked && !alarm.suppressed && !isShelved(alarm, nowS);
}

/** Active first, then by priority, then the newest first (ISA-18.2's alarm summary). */
export function compareAlarms(a: Alarm, b: Alarm): number {
  if (a.active !== b.active) return a.active ? -1 : 1;
  if (a.priority !== b.priority) return RANK[a.priority] - RANK[b.priority];
  return (b.raised ?? b.since) - (a.raised ?? a.since);
}

export function sortedAlarms(alarms: Record<string, Alarm>, nowS: number): [string, Alarm][] {
  return Object.entries(alarms)
    .filter(([, a]) => listed(a, nowS))
    .sort(([, a], [, b]) => compareAlarms(a, b));
}

/** Unacknowledged alarms per priority: exact, whatever was coalesced on the way. */
export function countsByPriority(
  alarms: Record<string, Alarm>,
  nowS: number,
): Record<Priority, number> {
  const counts: Record<Priority, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  for (const alarm of Object.values(alarms)) {
    if (owed(alarm, nowS)) counts[alarm.priority] += 1;
  }
  return counts;
}

/** The most urgent active, unsuppressed, unshelved alarm of one device or relay. */
export function worstAlarmOf(
  alarms: Record<string, Alarm>,
  gateway: string,
  source: string,
  nowS: number,
): Alarm | null {
  let worst: Alarm | null = null;
  for (const alarm of Object.values(alarms)) {
    if (alarm.gateway !== gateway || alarm.source !== source || !alarm.active) continue;
    if (alarm.suppressed || isShelved(alarm, nowS)) continue;
    if (worst === null || RANK[alarm.priority] < RANK[worst.priority]) worst = alarm;
  }
  return worst;
}

/**
 * `worstAlarmOf` for every source at once, keyed `<gateway>/<source>`: one pass over the
 * alarms, for a screen that marks thousands of devices.
 */
export function worstAlarms(alarms: Record<string, Alarm>, nowS: number): Record<string, Alarm> {
  const out: Record<string, Alarm> = {};
  for (const alarm of Object.values(alarms)) {
    if (!alarm.active || alarm.suppressed || isShelved(alarm, nowS)) continue;
    const key = `${alarm.gateway}/${alarm.source}`;
    const worst = out[key];
    if (worst === undefined || RANK[alarm.priority] < RANK[worst.priority]) out[key] = alarm;
  }
  return out;
}

/** The alarms newly owed since `before`: what the optional sound announces. */
export function newlyRaised(
  before: Record<string, Alarm>,
  after: Record<string, Alarm>,
  nowS: number,
  priorities: readonly Priority[],
): string[] {
  return Object.entries(after)
    .filter(([, a]) => owed(a, nowS) && a.active && priorities.includes(a.priority))
    .filter(([key, a]) => {
      const old = before[key];
      return old === undefined || !old.active || old.raised !== a.raised;
    })
    .map(([key]) => key);
}

/** An analog alarm limit of one device, as its trend draws it. */
export interface DeviceLimit {
  condition: Alarm['condition'];
  limit: number;
}

/**
 * Every device's analog alarm limits, keyed `<gateway>/<device>` like the plant's devices and
 * ordered from the lowest limit up. The gateway publishes its alarms retained in every state
 * (normal ones too), so the limits are known before any is crossed.
 */
export function limitsByDevice(alarms: Record<string, Alarm>): Record<string, DeviceLimit[]> {
  const out: Record<string, DeviceLimit[]> = {};
  for (const alarm of Object.values(alarms)) {
    if (alarm.limit === null || alarm.source === 'gateway') continue;
    const key = `${alarm.gateway}/${alarm.source}`;
    const limits = out[key] ?? [];
    limits.push({ condition: alarm.condition, limit: alarm.limit });
    out[key] = limits;
  }
  for (const limits of Object.values(out)) limits.sort((a, b) => a.limit - b.limit);
  return out;
}
