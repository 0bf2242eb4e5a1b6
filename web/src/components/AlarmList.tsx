import { useState } from 'react';
import { isShelved, owed, sortedAlarms } from '../alarms';
import type { LiveClient } from '../client';
import { formatUtc, formatValue } from '../format';
import type { Alarm, AlarmRequest, CommandOutcome } from '../types';
import { PRIORITY_ICON, PRIORITY_TEXT } from './AlarmBanner';

// Every user-visible string of this file, for the translation catalogs.
const TEXT = {
  title: 'Alarms',
  empty: 'No alarms: everything is normal.',
  ackAll: 'Acknowledge all shown',
  ack: 'Acknowledge',
  shelve: 'Shelve',
  unshelve: 'Unshelve',
  shelveFor: 'for',
  reason: 'Reason',
  reasonNeeded: 'Give a reason for shelving',
  confirm: 'Shelve it',
  cancel: 'Cancel',
  suppressed: 'suppressed: its gateway is offline or silent',
  shelvedUntil: (until: string, by: string | null, why: string | null) =>
    `shelved until ${until}${by ? ` by ${by}` : ''}${why ? `: ${why}` : ''}`,
  ackedBy: (by: string | null, at: string) => `acknowledged${by ? ` by ${by}` : ''} at ${at}`,
  failed: (detail: string) => `Not done: ${detail}`,
  limit: 'limit',
  state: {
    normal: 'Normal',
    unacked: 'Active, unacknowledged',
    acked: 'Active, acknowledged',
    rtn_unacked: 'Cleared, unacknowledged',
  } satisfies Record<Alarm['state'], string>,
  columns: ['Priority', 'Raised (UTC)', 'Where', 'Alarm', 'State', ''],
};

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

export function AlarmList({ alarms, client, nowMs, canHandle }: Props) {
  const nowS = nowMs / 1000;
  const rows = sortedAlarms(alarms, nowS);
  const [shelving, setShelving] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [minutes, setMinutes] = useState(SHELF_MINUTES[1] ?? 60);
  const [error, setError] = useState<string | null>(null);
  const report = (outcome: CommandOutcome) => {
    if (!outcome.ok) setError(TEXT.failed(outcome.detail ?? outcome.error ?? '?'));
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
        <h2 id="alarm-list-title">{TEXT.title}</h2>
        {canHandle && rows.some(([, a]) => !a.acked && !a.suppressed) && (
          <button type="button" data-testid="alarm-ack-all" onClick={() => void ackAll()}>
            {TEXT.ackAll}
          </button>
        )}
      </header>
      {error !== null && (
        <p className="alarm-error" role="alert" data-testid="alarm-error">
          {error}
        </p>
      )}
      {rows.length === 0 && <p className="muted">{TEXT.empty}</p>}
      {rows.length > 0 && (
        <table>
          <thead>
            <tr>
              {TEXT.columns.map((c) => (
                <th key={c}>{c}</th>
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
                  {PRIORITY_TEXT[alarm.priority]}
                </td>
                <td data-testid="alarm-time">{formatUtc(alarm.raised ?? alarm.since)}</td>
                <td>
                  {alarm.gateway}/{alarm.source}
                </td>
                <td>
                  <span data-testid="alarm-message">{alarm.message ?? alarm.condition}</span>
                  {alarm.value !== null && (
                    <span className="muted">
                      {' '}
                      ({formatValue(alarm.value)}
                      {alarm.limit !== null ? `; ${TEXT.limit} ${alarm.limit}` : ''})
                    </span>
                  )}
                </td>
                <td>
                  <span data-testid="alarm-state">{TEXT.state[alarm.state]}</span>
                  {alarm.acked && alarm.acked_at !== null && (
                    <div className="muted" data-testid="alarm-acked">
                      {TEXT.ackedBy(alarm.acked_by, formatUtc(alarm.acked_at))}
                    </div>
                  )}
                  {alarm.suppressed && <div className="muted">{TEXT.suppressed}</div>}
                  {isShelved(alarm, nowS) && alarm.shelved_until !== null && (
                    <div className="muted" data-testid="alarm-shelved">
                      {TEXT.shelvedUntil(
                        formatUtc(alarm.shelved_until),
                        alarm.shelved_by,
                        alarm.shelve_reason,
                      )}
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
                      {TEXT.ack}
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
                      {TEXT.shelve}
                    </button>
                  )}
                  {canHandle && isShelved(alarm, nowS) && (
                    <button
                      type="button"
                      className="link"
                      onClick={() => void send(request(alarm, 'unshelve'))}
                    >
                      {TEXT.unshelve}
                    </button>
                  )}
                  {shelving === key && (
                    <form
                      className="alarm-shelf"
                      data-testid="alarm-shelf-form"
                      onSubmit={(e) => {
                        e.preventDefault();
                        if (!reason.trim()) {
                          setError(TEXT.reasonNeeded);
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
                        {TEXT.reason}{' '}
                        <input
                          data-testid="alarm-shelf-reason"
                          value={reason}
                          maxLength={256}
                          onChange={(e) => setReason(e.target.value)}
                        />
                      </label>{' '}
                      <label>
                        {TEXT.shelveFor}{' '}
                        <select
                          value={minutes}
                          onChange={(e) => setMinutes(Number(e.target.value))}
                        >
                          {SHELF_MINUTES.map((m) => (
                            <option key={m} value={m}>
                              {m} min
                            </option>
                          ))}
                        </select>
                      </label>{' '}
                      <button type="submit" data-testid="alarm-shelf-confirm">
                        {TEXT.confirm}
                      </button>
                      <button type="button" className="link" onClick={() => setShelving(null)}>
                        {TEXT.cancel}
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
