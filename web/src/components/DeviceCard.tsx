import { useAnimateChange } from '../animateChange';
import { formatAge, formatValue } from '../format';
import { useFormats } from '../i18n';
import type { CardState } from '../plant';
import type { Device, HistoryPoint } from '../types';
import { Sparkline } from './Sparkline';

interface Props {
  device: Device;
  card: CardState;
  history: HistoryPoint[];
  nowMs: number;
  freshMs: number;
  onOpen: () => void;
}

const STATE_TEXT = {
  good: null,
  stale: 'device.stale',
  bad: 'device.sensorError',
} as const satisfies Record<CardState['state'], string | null>;

export function DeviceCard({ device, card, history, nowMs, freshMs, onOpen }: Props) {
  const f = useFormats();
  const name = device.name ?? device.id;
  const valueRef = useAnimateChange<HTMLSpanElement>(device.value);
  const noteKey =
    card.gateway === 'online' ? STATE_TEXT[card.state] : (`gateway.note.${card.gateway}` as const);
  const note = noteKey === null ? '' : f.t(noteKey);
  return (
    <article
      className={`card device card-${card.state}`}
      data-testid={`device-${device.gateway}-${device.id}`}
      data-state={card.state}
      aria-label={name}
    >
      {/* <bdi>: a Latin name in a Persian card keeps its shape, starts at the card's start and
          is cut at its own end. */}
      <h3 className="card-title" title={name}>
        {/* The whole card is the target (the button's ::after covers it); the name says what. */}
        <button
          type="button"
          className="card-open"
          onClick={onOpen}
          aria-label={f.t('trend.open', { name })}
          data-testid="open-trend"
        >
          <bdi>{name}</bdi>
        </button>
      </h3>
      <p className="reading">
        <span className="value" data-testid="value" ref={valueRef}>
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
