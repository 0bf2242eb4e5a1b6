import { memo, useCallback } from 'react';
import { useAnimateChange } from '../animateChange';
import { formatAge, formatValue } from '../format';
import { useFormats } from '../i18n';
import type { CardState } from '../plant';
import { useTickingText } from '../tickingText';
import type { Alarm, CommandOutcome, Device, HistoryPoint } from '../types';
import { PRIORITY_ICON } from './AlarmBanner';
import { alarmMarkTitle } from './RelayAlarmMark';
import { ServiceControl } from './ServiceControl';
import { Sparkline } from './Sparkline';

interface Props {
  /** "<gateway>/<id>", what `onOpen` is called with. */
  deviceKey: string;
  device: Device;
  card: CardState;
  history: HistoryPoint[];
  freshMs: number;
  onOpen: (deviceKey: string) => void;
  /** Its most urgent active alarm, if any: marked with the priority's shape and words. */
  alarm?: Alarm | null;
  /** Take the device out of service (with a reason) or back; `canService` false for a viewer
   * (the control then says why). The same function for every card, so the memo holds. */
  onService?:
    | ((
        gateway: string,
        device: string,
        inService: boolean,
        reason?: string,
      ) => Promise<CommandOutcome>)
    | undefined;
  canService?: boolean;
}

const STATE_TEXT = {
  good: null,
  stale: 'device.stale',
  bad: 'device.sensorError',
} as const satisfies Record<CardState['state'], string | null>;

function DeviceCardView({
  deviceKey,
  device,
  card,
  history,
  freshMs,
  onOpen,
  alarm,
  onService,
  canService = true,
}: Props) {
  const f = useFormats();
  const name = device.name ?? device.id;
  const valueRef = useAnimateChange<HTMLSpanElement>(device.value);
  const ts = device.ts;
  const { gateway, id } = device;
  const serviceThisDevice = useCallback(
    (inService: boolean, reason?: string) =>
      // Drawn only with onService (below); the fallback never runs.
      onService ? onService(gateway, id, inService, reason) : Promise.reject(new Error('none')),
    [onService, gateway, id],
  );
  const ageRef = useTickingText<HTMLSpanElement>(
    useCallback(
      (nowMs: number) =>
        ts === null ? f.t('device.noReading') : formatAge(f, nowMs - ts * 1000, freshMs, 'ago'),
      [f, ts, freshMs],
    ),
  );
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
          onClick={() => onOpen(deviceKey)}
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
        {/* Its text is the age, kept counting by useTickingText. */}
        <span
          className="card-age"
          data-testid="age"
          ref={ageRef}
          title={device.ts === null ? undefined : f.dateTime(device.ts)}
        />
      </footer>
      {onService && (
        <ServiceControl device={device} allowed={canService} onService={serviceThisDevice} />
      )}
    </article>
  );
}

/**
 * A card draws again only when its device, look, history or alarm changed (or the language):
 * at hundreds of updates a second, a panel of fifty cards redraws one or two of them.
 */
export const DeviceCard = memo(DeviceCardView);
