import { formatAge, formatValue } from '../format';
import { useFormats } from '../i18n';
import type { CardState } from '../plant';
import type { Alarm, Device, HistoryPoint } from '../types';
import { PRIORITY_ICON } from './AlarmBanner';
import { Sparkline } from './Sparkline';

interface Props {
  device: Device;
  card: CardState;
  history: HistoryPoint[];
  nowMs: number;
  freshMs: number;
  /** Its most urgent active alarm, if any: marked with the priority's shape and words. */
  alarm?: Alarm | null;
}

const STATE_TEXT = {
  good: null,
  stale: 'device.stale',
  bad: 'device.sensorError',
} as const satisfies Record<CardState['state'], string | null>;

export function DeviceCard({ device, card, history, nowMs, freshMs, alarm }: Props) {
  const f = useFormats();
  const name = device.name ?? device.id;
  const noteKey =
    card.gateway === 'online' ? STATE_TEXT[card.state] : (`gateway.note.${card.gateway}` as const);
  const note = noteKey === null ? '' : f.t(noteKey);
  return (
    <article
      className={`card device card-${card.state}${alarm ? ` card-alarm priority-${alarm.priority}` : ''}`}
      data-testid={`device-${device.gateway}-${device.id}`}
      data-state={card.state}
      data-alarm={alarm?.priority}
      aria-label={name}
    >
      {/* dir="auto": a Latin name in a Persian page is cut at its own end, not its start. */}
      <h3 className="card-title" title={name} dir="auto">
        {name}
      </h3>
      {alarm && (
        <p className="card-alarm-mark" data-testid="alarm-mark" title={alarm.message ?? undefined}>
          <span aria-hidden="true">{PRIORITY_ICON[alarm.priority]}</span>{' '}
          {f.t('alarms.mark', {
            priority: f.t(`alarms.priority.${alarm.priority}`),
            condition: alarm.condition,
          })}
        </p>
      )}
      <p className="reading">
        <span
          className="value"
          data-testid="value"
          title={
            device.ts === null ? undefined : f.t('device.readAt', { at: f.dateTime(device.ts) })
          }
        >
          {card.state === 'bad' ? '—' : formatValue(f, device.value)}
        </span>
        {device.unit && typeof device.value !== 'boolean' && (
          <span className="unit" data-testid="unit">
            {device.unit}
          </span>
        )}
      </p>
      <Sparkline points={history} />
      <footer className="card-foot">
        <span
          className="card-note"
          data-testid="note"
          role={card.state === 'bad' ? 'alert' : undefined}
        >
          {note}
        </span>
        <span
          className="card-age"
          data-testid="age"
          title={device.ts === null ? undefined : f.dateTime(device.ts)}
        >
          {device.ts === null
            ? f.t('device.noReading')
            : formatAge(f, nowMs - device.ts * 1000, freshMs, 'ago')}
        </span>
      </footer>
    </article>
  );
}
