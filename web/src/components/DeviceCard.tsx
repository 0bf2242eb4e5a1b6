import { formatAge, formatUtc, formatValue } from '../format';
import type { CardState } from '../plant';
import type { Alarm, Device, HistoryPoint } from '../types';
import { PRIORITY_ICON, PRIORITY_TEXT } from './AlarmBanner';
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

// Every user-visible string this file adds, for the translation catalogs.
const TEXT = {
  alarm: (priority: string, condition: string) => `${priority} alarm: ${condition}`,
  readAt: (at: string) => `read at ${at}`,
};

const STATE_TEXT: Record<CardState['state'], string> = {
  good: '',
  stale: 'stale',
  bad: 'sensor error',
};

export function DeviceCard({ device, card, history, nowMs, freshMs, alarm }: Props) {
  const name = device.name ?? device.id;
  const note = card.gateway === 'online' ? STATE_TEXT[card.state] : `gateway ${card.gateway}`;
  return (
    <article
      className={`card device card-${card.state}${alarm ? ` card-alarm priority-${alarm.priority}` : ''}`}
      data-testid={`device-${device.gateway}-${device.id}`}
      data-state={card.state}
      data-alarm={alarm?.priority}
      aria-label={name}
    >
      <h3 className="card-title" title={name}>
        {name}
      </h3>
      {alarm && (
        <p className="card-alarm-mark" data-testid="alarm-mark" title={alarm.message ?? undefined}>
          <span aria-hidden="true">{PRIORITY_ICON[alarm.priority]}</span>{' '}
          {TEXT.alarm(PRIORITY_TEXT[alarm.priority], alarm.condition)}
        </p>
      )}
      <p className="reading">
        <span
          className="value"
          data-testid="value"
          title={device.ts === null ? undefined : TEXT.readAt(formatUtc(device.ts))}
        >
          {card.state === 'bad' ? '—' : formatValue(device.value)}
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
        <span className="card-age" data-testid="age">
          {device.ts === null ? 'no reading' : formatAge(nowMs - device.ts * 1000, freshMs, 'ago')}
        </span>
      </footer>
    </article>
  );
}
