// The event log page as the dashboard holds it: the first page, then the entries the bridge
// pushes. Pure, so the merging rule is unit-tested.
import type { EventLogEntry, EventLogFilter, EventLogPage } from './types';

const newestFirst = (a: EventLogEntry, b: EventLogEntry): number => b.ts - a.ts || b.id - a.id;

/**
 * The page with pushed entries added: each id once (an entry written while the page was read
 * may come in both), in the bridge's order (newest first), at most `limit` shown; the total
 * counts the new ones and those the push `skipped`.
 */
export function withPushed(
  page: EventLogPage,
  entries: readonly EventLogEntry[],
  skipped: number,
  limit: number,
): EventLogPage {
  const known = new Set(page.entries.map((e) => e.id));
  const fresh = entries.filter((e) => !known.has(e.id));
  if (fresh.length === 0 && skipped === 0) return page;
  return {
    ...page,
    entries: [...fresh, ...page.entries].sort(newestFirst).slice(0, limit),
    total: page.total + fresh.length + skipped,
  };
}

/** The filters as the socket subscription takes them, from the page's query string. */
export function filterOf(query: URLSearchParams): EventLogFilter {
  const filter: EventLogFilter = {};
  const gateway = query.get('gateway');
  const kind = query.get('kind');
  if (gateway) filter.gateway = gateway;
  if (kind) filter.kind = kind as NonNullable<EventLogFilter['kind']>;
  for (const name of ['since', 'until', 'limit'] as const) {
    const value = query.get(name);
    if (value !== null && value !== '') filter[name] = Number(value);
  }
  return filter;
}
