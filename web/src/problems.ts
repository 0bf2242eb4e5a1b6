// What went wrong with a request, named by the client and worded for the operator in their
// language: what is wrong and what the page does about it, instead of the browser's own words
// ("Failed to fetch", "signal timed out").
import type { Formats } from './i18n';

/** No answer at all (`unreachable`, `timeout`), or an answer that was not what was asked. */
export type Problem = 'unreachable' | 'timeout' | `http_${number}`;

/** The problem behind an exception from fetch(). */
export function problemOf(err: unknown): Problem {
  const timedOut =
    (err instanceof DOMException || err instanceof Error) &&
    (err.name === 'TimeoutError' || err.name === 'AbortError');
  return timedOut ? 'timeout' : 'unreachable';
}

/** A request that failed with a problem; `detail` is the bridge's own words, if it gave any. */
export class ProblemError extends Error {
  constructor(
    readonly problem: Problem,
    readonly detail: string | null = null,
  ) {
    super(detail === null ? problem : `${problem}: ${detail}`);
  }
}

/** The bridge's `detail` from an error body, if there is one. */
export function detailOf(body: unknown): string | null {
  const detail = (body as { detail?: unknown } | null)?.detail;
  return typeof detail === 'string' ? detail : null;
}

export function problemText(f: Formats, problem: string, detail: string | null = null): string {
  const text = problem.startsWith('http_')
    ? f.t('problem.http', { status: f.number(Number(problem.slice(5))) })
    : problem === 'timeout'
      ? f.t('problem.timeout')
      : f.t('problem.unreachable');
  return detail === null ? text : f.t('problem.withDetail', { text, detail });
}
