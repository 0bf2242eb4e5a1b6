// Relay safeguards as the dashboard shows them (pure): why a relay cannot be switched on now
// (the gateway's interlocks, from its meta, against the states the page holds), its lock and
// its wear in words (catalog keys safeguards.*), and the answer of "all to safe". The gateway
// enforces every rule itself; this only tells the operator before they try.

import type { InterlockEntry, RelayLockEntry } from './generated/contract';
import type { Formats } from './i18n';
import { normalizeOutcome, type PlantState, relayKey } from './plant';
import type { CommandOutcome, Relay } from './types';

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
export function ruleText(
  f: Formats,
  plant: PlantState,
  gateway: string,
  rule: InterlockEntry,
): string {
  const relayName = (id: string) => plant.relays[relayKey(gateway, id)]?.name ?? id;
  const deviceName = (id: string) => plant.devices[relayKey(gateway, id)]?.name ?? id;
  const relay = relayName(rule.relay);
  switch (rule.kind) {
    case 'requires':
      return f.t('safeguards.requires', { relay, other: relayName(rule.other) });
    case 'excludes':
      return f.t('safeguards.excludes', { relay, other: relayName(rule.other) });
    case 'permissive': {
      const input = deviceName(rule.other);
      return rule.state
        ? f.t('safeguards.permissiveOn', { relay, input })
        : f.t('safeguards.permissiveOff', { relay, input });
    }
  }
}

/** The rule that switching `relay` on now would break, or null (off never breaks one). */
export function blockingRule(plant: PlantState, relay: Relay): InterlockEntry | null {
  const rules = plant.gateways[relay.gateway]?.interlocks ?? [];
  for (const rule of rules) {
    const about = rule.relay === relay.id || (rule.kind === 'excludes' && rule.other === relay.id);
    if (about && !holds(rule, plant, relay.gateway, { [relay.id]: true })) return rule;
  }
  return null;
}

/** Why switching `relay` on now would be refused by an interlock, in words, or null. */
export function blockedOn(f: Formats, plant: PlantState, relay: Relay): string | null {
  const rule = blockingRule(plant, relay);
  if (rule === null) return null;
  return f.t('safeguards.interlock', {
    id: rule.id,
    text: ruleText(f, plant, relay.gateway, rule),
  });
}

/** "1204 cycles · 3.2 h on", or null before the gateway has said. */
export function wearText(f: Formats, relay: Relay): string | null {
  if (typeof relay.cycles !== 'number') return null;
  const cycles = f.t('safeguards.cycles', { count: relay.cycles, n: f.number(relay.cycles) });
  const s = relay.on_time_s;
  if (typeof s !== 'number') return cycles;
  const onTime =
    s < 60
      ? f.t('safeguards.onTimeS', { value: f.number(s) })
      : s < 3600
        ? f.t('safeguards.onTimeMin', { value: f.number(s / 60, 1) })
        : f.t('safeguards.onTimeH', { value: f.number(s / 3600, 1) });
  return f.t('safeguards.wear', { cycles, onTime });
}

export function lockText(f: Formats, lock: RelayLockEntry): string {
  return f.t('safeguards.locked', {
    by: lock.by,
    since: f.dateTime(lock.since),
    reason: lock.reason,
  });
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
