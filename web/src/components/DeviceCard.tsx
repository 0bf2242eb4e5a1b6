import { useAnimateChange } from '../animateChange';
import { formatAge, formatValue } from '../format';
import type { CardState } from '../plant';
import type { Device, HistoryPoint } from '../types';
import { Sparkline } from './Sparkline';

const TEXT = {
  openTrend: (name: string) => `${name}: show its trend`,
};

interface Props {
  device: Device;
  card: CardState;
  history: HistoryPoint[];
  nowMs: number;
  freshMs: number;
  onOpen: () => void;
}

const STATE_TEXT: Record<CardState['state'], string> = {
  good: '',
  stale: 'stale',
  bad: 'sensor error',
};

export function DeviceCard({ device, card, history, nowMs, freshMs, onOpen }: Props) {
  const name = device.name ?? device.id;
  const valueRef = useAnimateChange<HTMLSpanElement>(device.value);
  const note = card.gateway === 'online' ? STATE_TEXT[card.state] : `gateway ${card.gateway}`;
  return (
    <article
      className={`card device card-${card.state}`}
      data-testid={`device-${device.gateway}-${device.id}`}
      data-state={card.state}
      aria-label={name}
    >
      <h3 className="card-title" title={name}>
        {/* The whole card is the target (the button's ::after covers it); the name says what. */}
        <button
          type="button"
          className="card-open"
          onClick={onOpen}
          aria-label={TEXT.openTrend(name)}
          data-testid="open-trend"
        >
          {name}
        </button>
      </h3>
      <p className="reading">
        <span className="value" data-testid="value" ref={valueRef}>
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
