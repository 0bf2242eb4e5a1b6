import { describe, expect, it } from 'vitest';
import { defaultConfig, readConfig } from './config';

describe('readConfig', () => {
  it('has the seed defaults: 5 s to fall back, 2 s polling, websocket then polling', () => {
    const c = readConfig('');
    expect(c.fallbackAfterMs).toBe(5000);
    expect(c.pollIntervalMs).toBe(2000);
    expect(c.socket.transports).toEqual(['websocket', 'polling']);
    expect(c.socket.reconnection).toBe(true);
  });

  it('takes timings from the query string and keeps freshness above the poll interval', () => {
    const c = readConfig('?poll=10000&fallback=3000');
    expect(c.pollIntervalMs).toBe(10000);
    expect(c.fallbackAfterMs).toBe(3000);
    expect(c.freshness.pollFreshMs).toBeGreaterThan(10000);
  });

  it('ignores values that are not positive numbers', () => {
    const c = readConfig('?poll=-1&fallback=abc');
    expect(c.pollIntervalMs).toBe(defaultConfig.pollIntervalMs);
    expect(c.fallbackAfterMs).toBe(defaultConfig.fallbackAfterMs);
  });
});
