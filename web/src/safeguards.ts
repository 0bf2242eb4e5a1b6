// Relay safeguards as the dashboard shows them (pure): why a relay cannot be switched on now
// (the gateway's interlocks, from its meta, against the states the page holds), its lock and
// its wear in words, and the answer of "all to safe". The gateway enforces every rule itself;
// this only tells the operator before they try.

import { formatUtc } from './format';
import type { InterlockEntry, RelayLockEntry } from './generated/contract';
import { normalizeOutcome, type PlantState, relayKey } from './plant';
import type { CommandOutcome, Relay } from './types';

export const TEXT = {
  interlock: (id: string, text: string) => `Interlock ${id}: ${text}`,
  requires: (relay: string, other: string) => `${relay} may be on only while ${other} is on`,
  excludes: (relay: string, other: string) => `${relay} and ${other} are never both on`,
  permissive: (relay: string, input: string, state: boolean) =>
    `${relay} may be on only while ${input} is ${state ? 'on' : 'off'}`,
  locked: (lock: RelayLockEntry) =>
    `Locked by ${lock.by} since ${formatUtc(lock.since)}: ${lock.reason}`,
  cycles: (n: number) => `${n.toLocaleString('en')} cycle${n === 1 ? '' : 's'}`,
  onTime: (s: number) =>
    s < 60
      ? `${s.toFixed(0)} s on`
      : s < 3600
        ? `${(s / 60).toFixed(1)} min on`
        : `${(s / 3600).toFixed(1)} h on`,
  trip: (rule: string) => `Tripped by interlock ${rule}`,
  noAnswer: 'unexpected answer from the bridge',
};

function holds(
  rule: InterlockEntry,
  plant: PlantState,
  gateway: string,
  relays: Record<string, boolean>,
): boolean {
  const on = (id: string) => relays[id] ?? plant.relays[relayKey(gateway, id)]?.on === true;
  if (!on(rule.relay)) return true;
  switch (rule.kind) {
    case 'requires':
      return on(rule.other);
    case 'excludes':
      return !on(rule.other);
    case 'permissive':
      return plant.devices[relayKey(gateway, rule.other)]?.value === rule.state;
  }
}

/** A rule in words, with the names the page shows (the gateway's own text uses ids). */
export function ruleText(plant: PlantState, gateway: string, rule: InterlockEntry): string {
  const relayName = (id: string) => plant.relays[relayKey(gateway, id)]?.name ?? id;
  const deviceName = (id: string) => plant.devices[relayKey(gateway, id)]?.name ?? id;
  const relay = relayName(rule.relay);
  switch (rule.kind) {
    case 'requires':
      return TEXT.requires(relay, relayName(rule.other));
    case 'excludes':
      return TEXT.excludes(relay, relayName(rule.other));
    case 'permissive':
      return TEXT.permissive(relay, deviceName(rule.other), rule.state);
  }
}

/** Why switching `relay` on now would be refused by an interlock, or null (off never is). */
export function blockedOn(plant: PlantState, relay: Relay): string | null {
  const rules = plant.gateways[relay.gateway]?.interlocks ?? [];
  for (const rule of rules) {
    const about = rule.relay === relay.id || (rule.kind === 'excludes' && rule.other === relay.id);
    if (about && !holds(rule, plant, relay.gateway, { [relay.id]: true })) {
      return TEXT.interlock(rule.id, ruleText(plant, relay.gateway, rule));
    }
  }
  return null;
}

/** "1,204 cycles · 3.2 h on", or null before the gateway has said. */
export function wearText(relay: Relay): string | null {
  if (typeof relay.cycles !== 'number') return null;
  const onTime = typeof relay.on_time_s === 'number' ? ` · ${TEXT.onTime(relay.on_time_s)}` : '';
  return `${TEXT.cycles(relay.cycles)}${onTime}`;
}

export interface AllToSafeAnswer {
  ok: boolean;
  /** By gateway id; "*" when the request was refused before anything was sent. */
  gateways: Record<string, CommandOutcome>;
}

export function normalizeAllToSafe(raw: unknown): AllToSafeAnswer {
  const body = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const gateways: Record<string, CommandOutcome> = {};
  if (typeof body.gateways === 'object' && body.gateways !== null) {
    for (const [id, outcome] of Object.entries(body.gateways)) {
      gateways[id] = normalizeOutcome(outcome);
    }
  } else {
    // A failure of our own (no answer, no bridge) has the shape of one outcome.
    gateways['*'] = normalizeOutcome(raw);
  }
  return { ok: body.ok === true, gateways };
}
