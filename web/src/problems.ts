// What went wrong with a request, in a sentence an operator can act on, instead of the
// browser's own words ("Failed to fetch", "signal timed out").

/** Why a request got no answer at all, and what the page does about it. */
export function unreachable(err: unknown, timeoutS: number, next: string): string {
  const timedOut =
    (err instanceof DOMException || err instanceof Error) &&
    (err.name === 'TimeoutError' || err.name === 'AbortError');
  const what = timedOut
    ? `The bridge did not answer within ${timeoutS} s`
    : 'The bridge cannot be reached (the network or the bridge is down)';
  return `${what}; ${next}`;
}

/** A refusal from the bridge: its own detail when it gave one, else the HTTP status. */
export function refused(what: string, status: number, body: unknown): string {
  const detail =
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { detail?: unknown }).detail === 'string'
      ? (body as { detail: string }).detail
      : `HTTP ${status}`;
  return `The bridge refused ${what}: ${detail}.`;
}
