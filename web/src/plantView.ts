// What the plant screen shows and in which order: gateways by name, each gateway's devices
// and relays in the order its meta lists them, narrowed by the search box. Pure, so the order
// never depends on which message happened to arrive first.
import { gatewayIds, type PlantState } from './plant';
import type { Gateway } from './types';

export interface GatewayView {
  id: string;
  name: string;
  /** Device keys ("<gateway>/<id>") to show, in the gateway's meta order. */
  devices: string[];
  /** Relay keys to show, in the gateway's meta order. */
  relays: string[];
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Gateways by display name ("Line 2" before "Line 10"), then by id. */
export function gatewaysByName(plant: PlantState): string[] {
  const name = (id: string) => plant.gateways[id]?.name ?? id;
  return gatewayIds(plant).sort((a, b) => collator.compare(name(a), name(b)) || (a < b ? -1 : 1));
}

interface Item {
  key: string;
  id: string;
  name: string | null;
}

/** Items in the order the meta lists their ids; any it does not list follow, by id. */
export function inMetaOrder<T extends Item>(items: T[], order: readonly string[]): T[] {
  const rank = new Map(order.map((id, i) => [id, i]));
  const last = order.length;
  return [...items].sort(
    (a, b) => (rank.get(a.id) ?? last) - (rank.get(b.id) ?? last) || collator.compare(a.id, b.id),
  );
}

/** A search box query, ready to match: trimmed, case-insensitive; empty matches everything. */
export function normalizeQuery(query: string): string {
  return query.trim().toLocaleLowerCase();
}

function matches(q: string, id: string, name: string | null | undefined): boolean {
  return (
    q === '' || id.toLocaleLowerCase().includes(q) || (name ?? '').toLocaleLowerCase().includes(q)
  );
}

function group<T extends { gateway: string; id: string; name: string | null }>(
  table: Record<string, T>,
): Map<string, Item[]> {
  const out = new Map<string, Item[]>();
  for (const [key, entry] of Object.entries(table)) {
    let list = out.get(entry.gateway);
    if (list === undefined) {
      list = [];
      out.set(entry.gateway, list);
    }
    list.push({ key, id: entry.id, name: entry.name });
  }
  return out;
}

/**
 * The gateways to show with their devices and relays. A gateway whose name or id matches the
 * query shows everything it has; otherwise only its devices and relays that match, and it is
 * left out when none does.
 */
export function plantView(plant: PlantState, query: string): GatewayView[] {
  const q = normalizeQuery(query);
  const devices = group(plant.devices);
  const relays = group(plant.relays);
  const views: GatewayView[] = [];
  for (const id of gatewaysByName(plant)) {
    const gateway: Gateway | undefined = plant.gateways[id];
    const name = gateway?.name ?? id;
    const whole = matches(q, id, name);
    const pick = (items: Item[] | undefined, order: readonly string[] | undefined) =>
      inMetaOrder(
        (items ?? []).filter((item) => whole || matches(q, item.id, item.name)),
        order ?? [],
      ).map((item) => item.key);
    const view = {
      id,
      name,
      devices: pick(devices.get(id), gateway?.device_order),
      relays: pick(relays.get(id), gateway?.relay_order),
    };
    if (whole || view.devices.length > 0 || view.relays.length > 0) views.push(view);
  }
  return views;
}
