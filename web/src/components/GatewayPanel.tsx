import { memo } from 'react';
import { useAnimateChange } from '../animateChange';
import type { LiveClient } from '../client';
import type { DashboardConfig } from '../config';
import { formatAge, formatSilence, formatValue } from '../format';
import { type Formats, useFormats } from '../i18n';
import type { CardState, CommandError, PendingCommand, PlantState, SwitchState } from '../plant';
import type {
  Alarm,
  CommandOutcome,
  Device,
  Gateway,
  GatewayStatus,
  HistoryPoint,
  Relay,
  SystemStats,
} from '../types';
import { PRIORITY_ICON } from './AlarmBanner';
import { AllToSafeButton } from './AllToSafeButton';
import { DeviceCard } from './DeviceCard';
import { alarmMarkTitle } from './RelayAlarmMark';
import { SafeguardedRelay } from './SafeguardedRelay';
import { StatsPanel } from './StatsPanel';

const COLUMNS = ['device', 'value', 'unit', 'updated', 'state'] as const;

export type Layout = 'cards' | 'table';

/** Everything one gateway's panel shows, picked out of the plant so that it can be memoised. */
export interface GatewaySlice {
  id: string;
  gateway: Gateway | undefined;
  status: GatewayStatus;
  /** How many devices and relays it shows; their entries are picked only while drawn. */
  deviceCount: number;
  relayCount: number;
  devices: {
    key: string;
    device: Device;
    card: CardState;
    history: HistoryPoint[];
    /** Its most urgent active alarm, if any. */
    alarm: Alarm | null;
  }[];
  relays: {
    key: string;
    relay: Relay;
    state: SwitchState;
    error: CommandError | undefined;
    pending: PendingCommand | undefined;
    /** Its most urgent active alarm (did not follow, command failed), if any. */
    alarm: Alarm | null;
  }[];
  stats: SystemStats | undefined;
}

interface Props {
  slice: GatewaySlice;
  /** For the relays' safeguards (interlocks read this gateway's relays and inputs, which the
   * slice holds, so the memo below need not compare the whole plant) and their commands. */
  plant: PlantState;
  client: LiveClient;
  config: DashboardConfig;
  nowMs: number;
  canSwitch: boolean;
  layout: Layout;
  collapsed: boolean;
  /** False while the panel is far from the viewport: only its header is drawn. */
  near: boolean;
  onCollapse: (id: string) => void;
  onOpenTrend: (deviceKey: string) => void;
  /** Take a device out of service (with a reason) or back; offered to operators only. */
  onService: (
    gateway: string,
    device: string,
    inService: boolean,
    reason?: string,
  ) => Promise<CommandOutcome>;
}

// Text and a shape for each status, never colour alone (ISA-101).
const STATUS = {
  online: { text: 'gateway.online', icon: '●', badge: 'badge-ok' },
  silent: { text: 'gateway.silent', icon: '◌', badge: 'badge-silent' },
  offline: { text: 'gateway.offline', icon: '✕', badge: 'badge-off' },
} as const satisfies Record<GatewayStatus, { text: string; icon: string; badge: string }>;

const CARD_NOTE = {
  good: 'plant.ok',
  stale: 'device.stale',
  bad: 'device.sensorError',
} as const satisfies Record<CardState['state'], string>;

function statusTitle(f: Formats, status: GatewayStatus, gateway: Gateway | undefined): string {
  const { t } = f;
  if (status === 'online') return t('gateway.onlineTitle');
  if (status === 'offline') return t('gateway.offlineTitle');
  const since = gateway?.silent_since;
  const last =
    typeof since === 'number'
      ? t('gateway.silentTitleSince', { time: f.dateTime(since) })
      : t('gateway.silentTitleAWhile');
  const after = gateway?.silent_after
    ? t('gateway.silentTitleAfter', { seconds: f.number(gateway.silent_after) })
    : '';
  return t('gateway.silentTitle', { since: last, after });
}

function GatewayPanelView(props: Props) {
  const { slice, config, nowMs, canSwitch, layout, collapsed, near } = props;
  const f = useFormats();
  const { t } = f;
  const { id, gateway, status } = slice;
  const online = status === 'online';
  const shown = STATUS[status];
  const title = gateway?.name ?? id;
  const bodyId = `gw-${id}-body`;
  const freshMs = config.freshness.deviceFreshMs;
  return (
    <section
      className={`gateway${online ? '' : ` gateway-offline gateway-${status}`}`}
      data-testid={`gateway-${id}`}
      data-online={gateway?.online !== false}
      data-status={status}
      data-collapsed={collapsed}
      aria-labelledby={`gw-${id}-title`}
    >
      <header className="gateway-head">
        <h2 id={`gw-${id}-title`}>
          <button
            type="button"
            className="gateway-toggle"
            aria-expanded={!collapsed}
            aria-controls={bodyId}
            title={
              collapsed ? t('plant.expand', { name: title }) : t('plant.collapse', { name: title })
            }
            onClick={() => props.onCollapse(id)}
            data-testid="gateway-toggle"
          >
            <bdi>{title}</bdi>
          </button>
        </h2>
        <span className={`badge ${shown.badge}`} title={statusTitle(f, status, gateway)}>
          <span className="badge-icon" aria-hidden="true" data-testid="gateway-status-icon">
            {shown.icon}
          </span>{' '}
          <span data-testid="gateway-status">{t(shown.text)}</span>
        </span>
        {status === 'silent' && (
          <span
            className="silent-since"
            data-testid="gateway-silent-since"
            title={statusTitle(f, status, gateway)}
          >
            {t('gateway.notLive', { silence: formatSilence(f, gateway?.silent_since, nowMs) })}
          </span>
        )}
        {gateway?.version ? (
          <span className="muted">{t('gateway.version', { version: gateway.version })}</span>
        ) : null}
        {collapsed && (
          <span className="muted">
            {t('plant.hidden', {
              devices: f.number(slice.deviceCount),
              relays: f.number(slice.relayCount),
            })}
          </span>
        )}
      </header>
      {!collapsed && !near && (
        // Far from the viewport: room for the body, drawn when it scrolls near (with the values
        // current then, so nothing that arrived meanwhile is lost from view).
        <div
          id={bodyId}
          className="gateway-placeholder"
          style={{ minHeight: `${placeholderRem(slice, layout)}rem` }}
          data-testid="gateway-placeholder"
        />
      )}
      {!collapsed && near && (
        <div id={bodyId} className="gateway-body">
          {slice.devices.length > 0 && layout === 'cards' && (
            // Each part is named with its gateway's name ("Line 1 Relays"): a plant has many.
            <section className="devices" aria-labelledby={`gw-${id}-title gw-${id}-sensors`}>
              <h3 className="sr-only" id={`gw-${id}-sensors`}>
                {t('gateway.sensors')}
              </h3>
              {slice.devices.map(({ key, device, card, history, alarm }) => (
                <DeviceCard
                  key={key}
                  deviceKey={key}
                  device={device}
                  card={card}
                  history={history}
                  freshMs={freshMs}
                  onOpen={props.onOpenTrend}
                  alarm={alarm}
                  canService={canSwitch}
                  onService={props.onService}
                />
              ))}
            </section>
          )}
          {slice.devices.length > 0 && layout === 'table' && (
            <table className="plant-table" data-testid={`table-${id}`}>
              <caption className="sr-only">{t('plant.tableCaption', { name: title })}</caption>
              <thead>
                <tr>
                  {COLUMNS.map((c) => (
                    <th key={c} scope="col">
                      {t(`plant.columns.${c}`)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {slice.devices.map(({ key, device, card, alarm }) => (
                  <tr
                    key={key}
                    data-testid={`row-${device.gateway}-${device.id}`}
                    data-state={card.state}
                    className={`row-${card.state}`}
                  >
                    <th scope="row">
                      <button
                        type="button"
                        className="link"
                        title={device.name ?? device.id}
                        onClick={() => props.onOpenTrend(key)}
                      >
                        {device.name ?? device.id}
                      </button>
                    </th>
                    <td>
                      <TableValue device={device} bad={card.state === 'bad'} />
                    </td>
                    <td>{typeof device.value === 'boolean' ? '' : (device.unit ?? '')}</td>
                    <td
                      data-testid="age"
                      title={device.ts === null ? undefined : f.dateTime(device.ts)}
                    >
                      {device.ts === null
                        ? t('device.noReading')
                        : formatAge(f, nowMs - device.ts * 1000, freshMs, 'ago')}
                    </td>
                    <td>
                      {card.gateway === 'online'
                        ? t(CARD_NOTE[card.state])
                        : t(`gateway.note.${card.gateway}`)}
                      {alarm && (
                        <span
                          className="row-alarm-mark"
                          data-testid="alarm-mark"
                          title={alarmMarkTitle(f, alarm)}
                        >
                          {' '}
                          <span aria-hidden="true">{PRIORITY_ICON[alarm.priority]}</span>{' '}
                          {t('alarms.mark', {
                            priority: t(`alarms.priority.${alarm.priority}`),
                            condition: alarm.condition,
                          })}
                        </span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div className="gateway-bottom">
            <section className="relays" aria-labelledby={`gw-${id}-title gw-${id}-relays`}>
              <h3 className="stats-title" id={`gw-${id}-relays`}>
                {t('gateway.relays')}
              </h3>
              {slice.relays.map(({ key, relay, alarm }) => (
                <SafeguardedRelay
                  key={key}
                  relayKey={key}
                  relay={relay}
                  alarm={alarm}
                  plant={props.plant}
                  client={props.client}
                  gateway={status}
                  canSwitch={canSwitch}
                />
              ))}
              {canSwitch && online && slice.relays.length > 0 && (
                <AllToSafeButton client={props.client} gateway={id} />
              )}
              {slice.relays.length === 0 && <p className="muted">{t('gateway.noRelays')}</p>}
            </section>
            <StatsPanel
              id={id}
              ownerTitleId={`gw-${id}-title`}
              title={t('gateway.system')}
              stats={slice.stats}
              stale={!online}
              nowMs={nowMs}
            />
          </div>
        </div>
      )}
    </section>
  );
}

function TableValue({ device, bad }: { device: Device; bad: boolean }) {
  const f = useFormats();
  const ref = useAnimateChange<HTMLSpanElement>(device.value);
  return (
    <span
      data-testid="value"
      ref={ref}
      className="value-cell"
      title={device.ts === null ? undefined : f.t('device.readAt', { at: f.dateTime(device.ts) })}
    >
      {bad ? '—' : formatValue(f, device.value)}
    </span>
  );
}

/** About the height the body will take, so that the scroll bar does not jump when it is drawn. */
function placeholderRem(slice: GatewaySlice, layout: Layout): number {
  const perRow = layout === 'cards' ? 10.25 : 2.2;
  const rows = layout === 'cards' ? Math.ceil(slice.deviceCount / 5) : slice.deviceCount + 1;
  return rows * perRow + Math.max(8, slice.relayCount * 3);
}

function sameItems<T extends object>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) {
    const x = a[i] as Record<string, unknown>;
    const y = b[i] as Record<string, unknown>;
    for (const k of Object.keys(x)) if (x[k] !== y[k]) return false;
  }
  return true;
}

/**
 * A panel draws again only when something it shows changed: at hundreds of updates a second
 * across a plant, each touches one gateway, not all of them.
 */
export const GatewayPanel = memo(GatewayPanelView, (before, after) => {
  const a = before.slice;
  const b = after.slice;
  const visible = after.near && !after.collapsed;
  return (
    before.layout === after.layout &&
    before.collapsed === after.collapsed &&
    before.near === after.near &&
    before.canSwitch === after.canSwitch &&
    before.config === after.config &&
    (!visible || before.nowMs === after.nowMs) &&
    a.gateway === b.gateway &&
    a.status === b.status &&
    a.stats === b.stats &&
    (visible
      ? sameItems(a.devices, b.devices) && sameItems(a.relays, b.relays)
      : a.deviceCount === b.deviceCount && a.relayCount === b.relayCount)
  );
});
