import { describe, expect, it } from 'vitest';
import { filterOf, withPushed } from './eventLog';
import type { EventLogEntry, EventLogPage } from './types';

function entry(id: number, ts: number): EventLogEntry {
  const time = new Date(ts * 1000).toISOString();
  return {
    id,
    time,
    ts,
    kind: 'alarm',
    gateway: 'line1',
    subject: null,
    action: 'raised',
    user: null,
    text: `e${id}`,
  };
}

const page: EventLogPage = {
  entries: [entry(2, 20), entry(1, 10)],
  total: 2,
  offset: 0,
  next_offset: null,
};

describe('the live event log', () => {
  it('adds pushed entries newest first, each id once, and counts them', () => {
    const after = withPushed(page, [entry(4, 40), entry(2, 20), entry(3, 30)], 0, 10);
    expect(after.entries.map((e) => e.id)).toEqual([4, 3, 2, 1]);
    expect(after.total).toBe(4);
  });

  it('keeps at most the limit shown and counts what a push skipped', () => {
    const after = withPushed(page, [entry(3, 30)], 5, 2);
    expect(after.entries.map((e) => e.id)).toEqual([3, 2]);
    expect(after.total).toBe(8);
    expect(withPushed(page, [entry(1, 10)], 0, 2)).toBe(page);
  });

  it('turns the page query into the subscription filters', () => {
    const query = new URLSearchParams('gateway=line1&kind=alarm&since=100&limit=200');
    expect(filterOf(query)).toEqual({ gateway: 'line1', kind: 'alarm', since: 100, limit: 200 });
  });
});
