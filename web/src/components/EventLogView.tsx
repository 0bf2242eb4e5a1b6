import { useEffect, useState } from 'react';
import type { EventLogPage, LiveClient } from '../client';
import { type Mode, polls } from '../connection';
import { filterOf, withPushed } from '../eventLog';
import { useFormats } from '../i18n';
import { ProblemError, problemText } from '../problems';
import type { EventLogUpdate } from '../types';

const KINDS = ['alarm', 'command', 'gateway', 'bridge'] as const;
const COLUMNS = ['time', 'kind', 'gateway', 'what', 'who'] as const;

// In HTTP fallback mode the open page is re-read this often; over the socket it is pushed.
const REFRESH_MS = 2000;
const LIMIT = 200;

interface Props {
  client: LiveClient;
  gateways: string[];
  mode: Mode;
}

/** "2026-12-01T10:00" from a datetime-local input, read as UTC, as Unix seconds. */
function utcSeconds(value: string): number | null {
  if (!value) return null;
  const ms = Date.parse(`${value}:00Z`);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

export function EventLogView({ client, gateways, mode }: Props) {
  const f = useFormats();
  const { t } = f;
  const [gateway, setGateway] = useState('');
  const [kind, setKind] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [page, setPage] = useState<EventLogPage | null>(null);
  // What went wrong with the last read, worded when drawn (in the user's language).
  const [error, setError] = useState<unknown>(null);
  const query = new URLSearchParams();
  if (gateway) query.set('gateway', gateway);
  if (kind) query.set('kind', kind);
  const from = utcSeconds(since);
  const to = utcSeconds(until);
  if (from !== null) query.set('since', String(from));
  if (to !== null) query.set('until', String(to));
  query.set('limit', String(LIMIT));
  const key = query.toString();
  const realtime = mode === 'realtime';
  const polling = polls(mode);
  // Over the socket: subscribe with the filters; the answer is the first page, pushes follow
  // (those that arrive before the answer are kept and added to it).
  useEffect(() => {
    if (!realtime) return;
    let live = true;
    let early: EventLogUpdate[] | null = [];
    const off = client.onEventLogUpdate((update) => {
      if (!live) return;
      if (early !== null) early.push(update);
      else setPage((p) => p && withPushed(p, update.entries, update.skipped, LIMIT));
    });
    void client.subscribeEventLog(filterOf(new URLSearchParams(key))).then((answer) => {
      if (!live || answer === null) return;
      if (answer.ok && answer.page !== null) {
        let first = answer.page;
        for (const u of early ?? []) first = withPushed(first, u.entries, u.skipped, LIMIT);
        early = null;
        setPage(first);
        setError(null);
      } else {
        setError(new ProblemError('http_400', answer.detail));
      }
    });
    return () => {
      live = false;
      off();
      client.unsubscribeEventLog();
    };
  }, [client, key, realtime]);
  // In HTTP fallback mode only: re-read the page.
  useEffect(() => {
    if (!polling) return;
    let live = true;
    const load = () =>
      client
        .eventLog(new URLSearchParams(key))
        .then((p) => {
          if (live) {
            setPage(p);
            setError(null);
          }
        })
        .catch((err: unknown) => live && setError(err ?? 'error'));
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [client, key, polling]);
  return (
    <section className="event-log" data-testid="event-log" aria-labelledby="event-log-title">
      <header className="alarm-list-head">
        <h2 id="event-log-title">{t('events.title')}</h2>
        <a href={client.eventLogCsvUrl(new URLSearchParams(key))} download data-testid="event-csv">
          {t('events.csv')}
        </a>
      </header>
      <form className="event-filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          {t('events.gateway')}{' '}
          <select
            data-testid="event-gateway"
            value={gateway}
            onChange={(e) => setGateway(e.target.value)}
          >
            <option value="">{t('events.any')}</option>
            {gateways.map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        </label>{' '}
        <label>
          {t('events.kind')}{' '}
          <select data-testid="event-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">{t('events.any')}</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`events.kinds.${k}`)}
              </option>
            ))}
          </select>
        </label>{' '}
        <label>
          {t('events.since')}{' '}
          <input type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
        </label>{' '}
        <label>
          {t('events.until')}{' '}
          <input type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />
        </label>
      </form>
      {error !== null && (
        <p className="alarm-error" role="alert">
          {error instanceof ProblemError
            ? problemText(f, error.problem, error.detail)
            : problemText(f, 'unreachable', String(error))}
        </p>
      )}
      {page !== null && page.entries.length === 0 && <p className="muted">{t('events.empty')}</p>}
      {page !== null && page.entries.length > 0 && (
        <>
          <p className="muted" data-testid="event-count">
            {t('events.total', {
              shown: f.number(page.entries.length, 0),
              total: f.number(page.total, 0),
            })}
          </p>
          <table>
            <thead>
              <tr>
                {COLUMNS.map((c) => (
                  <th key={c}>{t(`events.columns.${c}`)}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {page.entries.map((e) => (
                <tr key={e.id} data-testid="event-row" data-kind={e.kind} data-action={e.action}>
                  <td>{f.dateTime(e.ts)}</td>
                  <td>{KINDS.includes(e.kind) ? t(`events.kinds.${e.kind}`) : e.kind}</td>
                  <td>{e.gateway ?? ''}</td>
                  <td data-testid="event-text">{e.text}</td>
                  <td>{e.user ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
