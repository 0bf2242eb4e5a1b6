import { useState } from 'react';
import { isShelved, owed, sortedAlarms } from '../alarms';
import type { LiveClient } from '../client';
import { formatValue } from '../format';
import { useFormats } from '../i18n';
import type { Alarm, AlarmRequest, CommandOutcome } from '../types';
import { PRIORITY_ICON } from './AlarmBanner';
import { isErrorCode } from './RelaySwitch';

const SHELF_MINUTES = [15, 60, 240, 480];

interface Props {
  alarms: Record<string, Alarm>;
  client: LiveClient;
  nowMs: number;
  canHandle: boolean;
}

function request(alarm: Alarm, action: AlarmRequest['action']): AlarmRequest {
  return { gateway: alarm.gateway, source: alarm.source, condition: alarm.condition, action };
}

const COLUMNS = ['priority', 'raised', 'where', 'alarm', 'state', 'actions'] as const;

export function AlarmList({ alarms, client, nowMs, canHandle }: Props) {
  const f = useFormats();
  const { t } = f;
  const nowS = nowMs / 1000;
  const rows = sortedAlarms(alarms, nowS);
  const [shelving, setShelving] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [minutes, setMinutes] = useState(SHELF_MINUTES[1] ?? 60);
  const [error, setError] = useState<string | null>(null);
  const report = (outcome: CommandOutcome) => {
    if (!outcome.ok)
      // As on a relay switch: a code we know reads better in the user's language.
      setError(
        t('alarms.failed', {
          detail:
            outcome.error !== null &&
            isErrorCode(outcome.error) &&
            (outcome.detail === null || f.language !== 'en')
              ? t(`relay.errors.${outcome.error}`)
              : (outcome.detail ?? outcome.error ?? '?'),
        }),
      );
  };
  const send = async (req: AlarmRequest) => {
    setError(null);
    report(await client.handleAlarm(req));
  };
  const ackAll = async () => {
    setError(null);
    const due = rows.filter(([, a]) => !a.acked && !a.suppressed);
    for (const [, alarm] of due) report(await client.handleAlarm(request(alarm, 'acknowledge')));
  };
  return (
    <section className="alarm-list" data-testid="alarm-list" aria-labelledby="alarm-list-title">
      <header className="alarm-list-head">
        <h2 id="alarm-list-title">{t('alarms.title')}</h2>
        {canHandle && rows.some(([, a]) => !a.acked && !a.suppressed) && (
          <button type="button" data-testid="alarm-ack-all" onClick={() => void ackAll()}>
            {t('alarms.ackAll')}
          </button>
        )}
      </header>
      {error !== null && (
        <p className="alarm-error" role="alert" data-testid="alarm-error">
          {error}
        </p>
      )}
      {rows.length === 0 && <p className="muted">{t('alarms.empty')}</p>}
      {rows.length > 0 && (
        <table>
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th key={c}>{t(`alarms.columns.${c}`)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map(([key, alarm]) => (
              <tr
                key={key}
                data-testid={`alarm-${key}`}
                data-state={alarm.state}
                data-priority={alarm.priority}
                className={`alarm-row priority-${alarm.priority}${owed(alarm, nowS) ? ' alarm-owed' : ''}${alarm.suppressed ? ' alarm-suppressed' : ''}`}
              >
                <td>
                  <span aria-hidden="true">{PRIORITY_ICON[alarm.priority]}</span>{' '}
                  {t(`alarms.priority.${alarm.priority}`)}
                </td>
                <td data-testid="alarm-time">{f.dateTime(alarm.raised ?? alarm.since)}</td>
                <td>
                  {alarm.gateway}/{alarm.source}
                </td>
                <td>
                  <span data-testid="alarm-message">{alarm.message ?? alarm.condition}</span>
                  {alarm.value !== null && (
                    <span className="muted">
                      {' '}
                      ({formatValue(f, alarm.value)}
                      {alarm.limit !== null
                        ? `; ${t('alarms.limit', { limit: f.number(alarm.limit, 1) })}`
                        : ''}
                      )
                    </span>
                  )}
                </td>
                <td>
                  <span data-testid="alarm-state">{t(`alarms.state.${alarm.state}`)}</span>
                  {alarm.acked && alarm.acked_at !== null && (
                    <div className="muted" data-testid="alarm-acked">
                      {t('alarms.ackedBy', {
                        by: alarm.acked_by ?? '?',
                        at: f.dateTime(alarm.acked_at),
                      })}
                    </div>
                  )}
                  {alarm.suppressed && <div className="muted">{t('alarms.suppressed')}</div>}
                  {isShelved(alarm, nowS) && alarm.shelved_until !== null && (
                    <div className="muted" data-testid="alarm-shelved">
                      {t('alarms.shelvedUntil', {
                        until: f.dateTime(alarm.shelved_until),
                        by: alarm.shelved_by ?? '?',
                        reason: alarm.shelve_reason ?? '',
                      })}
                    </div>
                  )}
                </td>
                <td className="alarm-actions">
                  {canHandle && !alarm.acked && (
                    <button
                      type="button"
                      data-testid="alarm-ack"
                      onClick={() => void send(request(alarm, 'acknowledge'))}
                    >
                      {t('alarms.ack')}
                    </button>
                  )}
                  {canHandle && alarm.source !== 'gateway' && !isShelved(alarm, nowS) && (
                    <button
                      type="button"
                      className="link"
                      data-testid="alarm-shelve"
                      onClick={() => {
                        setShelving(key);
                        setReason('');
                      }}
                    >
                      {t('alarms.shelve')}
                    </button>
                  )}
                  {canHandle && isShelved(alarm, nowS) && (
                    <button
                      type="button"
                      className="link"
                      onClick={() => void send(request(alarm, 'unshelve'))}
                    >
                      {t('alarms.unshelve')}
                    </button>
                  )}
                  {shelving === key && (
                    <form
                      className="alarm-shelf"
                      data-testid="alarm-shelf-form"
                      onSubmit={(e) => {
                        e.preventDefault();
                        if (!reason.trim()) {
                          setError(t('alarms.reasonNeeded'));
                          return;
                        }
                        setShelving(null);
                        void send({
                          ...request(alarm, 'shelve'),
                          until: Date.now() / 1000 + minutes * 60,
                          reason: reason.trim(),
                        });
                      }}
                    >
                      <label>
                        {t('alarms.reason')}{' '}
                        <input
                          data-testid="alarm-shelf-reason"
                          value={reason}
                          maxLength={256}
                          onChange={(e) => setReason(e.target.value)}
                        />
                      </label>{' '}
                      <label>
                        {t('alarms.shelveFor')}{' '}
                        <select
                          value={minutes}
                          onChange={(e) => setMinutes(Number(e.target.value))}
                        >
                          {SHELF_MINUTES.map((m) => (
                            <option key={m} value={m}>
                              {t('alarms.minutes', { n: f.number(m, 0) })}
                            </option>
                          ))}
                        </select>
                      </label>{' '}
                      <button type="submit" data-testid="alarm-shelf-confirm">
                        {t('alarms.confirm')}
                      </button>
                      <button type="button" className="link" onClick={() => setShelving(null)}>
                        {t('alarms.cancel')}
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
