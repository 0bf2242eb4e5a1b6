import { describe, expect, it } from 'vitest';
import { refused, unreachable } from './problems';

describe('request problems in words', () => {
  it('turns "Failed to fetch" into what is wrong and what the page does', () => {
    const text = unreachable(new TypeError('Failed to fetch'), 8, 'retrying every 2 s.');
    expect(text).toBe(
      'The bridge cannot be reached (the network or the bridge is down); retrying every 2 s.',
    );
    expect(text).not.toMatch(/Failed to fetch/);
  });

  it('tells a timeout apart', () => {
    const err = new DOMException('signal timed out', 'TimeoutError');
    expect(unreachable(err, 8, 'try again.')).toBe(
      'The bridge did not answer within 8 s; try again.',
    );
  });

  it("gives the bridge's own detail for a refusal, else the status", () => {
    expect(
      refused('the history request', 400, { error: 'invalid', detail: 'from: not a time' }),
    ).toBe('The bridge refused the history request: from: not a time.');
    expect(refused('the history request', 502, null)).toBe(
      'The bridge refused the history request: HTTP 502.',
    );
  });
});
