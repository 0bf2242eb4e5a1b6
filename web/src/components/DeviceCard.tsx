import { useAnimateChange } from '../animateChange';
import { formatAge, formatValue } from '../format';
import { useFormats } from '../i18n';
import type { CardState } from '../plant';
import type { Alarm, CommandOutcome, Device, HistoryPoint } from '../types';
import { PRIORITY_ICON } from './AlarmBanner';
import { alarmMarkTitle } from './RelayAlarmMark';
import { ServiceControl } from './ServiceControl';
import { Sparkline } from './Sparkline';

interface Props {
  device: Device;
  card: CardState;
  history: HistoryPoint[];
  nowMs: number;
  freshMs: number;
  onOpen: () => void;
  /** Its most urgent active alarm, if any: marked with the priority's shape and words. */
  alarm?: Alarm | null;
  /** Take the device out of service (with a reason) or back; `canService` false for a viewer
   * (the control then says why). */
  onService?: ((inService: boolean, reason?: string) => Promise<CommandOutcome>) | undefined;
  canService?: boolean;
}

const STATE_TEXT = {
  good: null,
  stale: 'device.stale',
  bad: 'device.sensorError',
} as const satisfies Record<CardState['state'], string | null>;

export function DeviceCard({
  device,
  card,
  history,
  nowMs,
  freshMs,
  onOpen,
  alarm,
  onService,
  canService = true,
}: Props) {
  const f = useFormats();
  const name = device.name ?? device.id;
  const valueRef = useAnimateChange<HTMLSpanElement>(device.value);
  const noteKey =
    card.gateway === 'online' ? STATE_TEXT[card.state] : (`gateway.note.${card.gateway}` as const);
  const note = noteKey === null ? '' : f.t(noteKey);
  return (
    <article
      className={`card device card-${card.state}${alarm ? ` card-alarm priority-${alarm.priority}` : ''}`}
      data-testid={`device-${device.gateway}-${device.id}`}
      data-state={card.state}
      data-alarm={alarm?.priority}
      data-out-of-service={device.out_of_service ? 'true' : undefined}
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
      {device.out_of_service && (
        <p
          className="card-oos"
          data-testid="out-of-service"
          title={f.t('device.outOfServiceTitle', {
            by: device.out_of_service.by,
            at: f.dateTime(device.out_of_service.since),
            reason: device.out_of_service.reason,
          })}
        >
          <span aria-hidden="true">⊘</span> {f.t('device.outOfService')}
        </p>
      )}
      {alarm && (
        <p className="card-alarm-mark" data-testid="alarm-mark" title={alarmMarkTitle(f, alarm)}>
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
          ref={valueRef}
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
      {onService && <ServiceControl device={device} allowed={canService} onService={onService} />}
    </article>
  );
}
