// Test data shared by the Vitest files: not imported by the dashboard itself.
import type { Alarm } from './types';

/** A raised, unacknowledged high alarm of line1's temperature; `over` changes any field. */
export function testAlarm(over: Partial<Alarm>): Alarm {
  return {
    gateway: 'line1',
    source: 'temperature',
    condition: 'hi',
    priority: 'high',
    active: true,
    acked: false,
    state: 'unacked',
    since: 100,
    raised: 100,
    value: 81,
    limit: 80,
    message: null,
    acked_by: null,
    acked_at: null,
    shelved_until: null,
    shelved_by: null,
    shelve_reason: null,
    suppressed: false,
    ts: 100,
    ...over,
  };
}
