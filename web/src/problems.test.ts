import { describe, expect, it } from 'vitest';
import { formatsFor } from './i18n';
import { detailOf, problemOf, problemText } from './problems';

const en = formatsFor({ language: 'en', digits: 'native' });
const fa = formatsFor({ language: 'fa', digits: 'native' });

describe('request problems in words', () => {
  it('turns "Failed to fetch" into what is wrong and what the page does', () => {
    const problem = problemOf(new TypeError('Failed to fetch'));
    expect(problem).toBe('unreachable');
    const text = problemText(en, problem);
    expect(text).toBe(
      'The bridge cannot be reached (the network or the bridge is down); the page keeps trying.',
    );
    expect(problemText(fa, problem)).not.toMatch(/[A-Za-z]/);
  });

  it('tells a timeout apart, and words an HTTP status with the bridge detail', () => {
    expect(problemOf(new DOMException('signal timed out', 'TimeoutError'))).toBe('timeout');
    expect(problemText(en, 'timeout')).toBe(
      'The bridge did not answer in time; the page keeps trying.',
    );
    expect(problemText(en, 'http_400', 'from: not a time')).toBe(
      'The bridge answered HTTP 400; the page keeps trying. (from: not a time)',
    );
    expect(problemText(fa, 'http_502')).toContain('۵۰۲');
  });

  it("reads the bridge's detail from an error body", () => {
    expect(detailOf({ error: 'invalid', detail: 'x' })).toBe('x');
    expect(detailOf(null)).toBeNull();
  });
});
