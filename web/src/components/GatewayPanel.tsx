import { worstAlarmOf } from '../alarms';
import type { LiveClient } from '../client';
import type { DashboardConfig } from '../config';
import { formatSilence } from '../format';
import { type Formats, useFormats } from '../i18n';
import { deviceCardState, gatewayStatus, type PlantState } from '../plant';
import type { Gateway, GatewayStatus } from '../types';
import { AllToSafeButton } from './AllToSafeButton';
import { DeviceCard } from './DeviceCard';
import { SafeguardedRelay } from './SafeguardedRelay';
import { StatsPanel } from './StatsPanel';

interface Props {
  id: string;
  plant: PlantState;
  client: LiveClient;
  config: DashboardConfig;
  nowMs: number;
  canSwitch: boolean;
}

// Text and a shape for each status, never colour alone (ISA-101).
const STATUS = {
  online: { text: 'gateway.online', icon: '●', badge: 'badge-ok' },
  silent: { text: 'gateway.silent', icon: '◌', badge: 'badge-silent' },
  offline: { text: 'gateway.offline', icon: '✕', badge: 'badge-off' },
} as const satisfies Record<GatewayStatus, { text: string; icon: string; badge: string }>;

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

export function GatewayPanel({ id, plant, client, config, nowMs, canSwitch }: Props) {
  const f = useFormats();
  const { t } = f;
  const gateway = plant.gateways[id];
  const status = gatewayStatus(gateway);
  const online = status === 'online';
  const shown = STATUS[status];
  const devices = Object.entries(plant.devices).filter(([, d]) => d.gateway === id);
  const relays = Object.entries(plant.relays).filter(([, r]) => r.gateway === id);
  const title = gateway?.name ?? id;
  return (
    <section
      className={`gateway${online ? '' : ` gateway-offline gateway-${status}`}`}
      data-testid={`gateway-${id}`}
      data-online={gateway?.online !== false}
      data-status={status}
      aria-labelledby={`gw-${id}-title`}
    >
      <header className="gateway-head">
        <h2 id={`gw-${id}-title`}>
          <bdi>{title}</bdi>
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
      </header>
      {devices.length > 0 && (
        // Each part is named with its gateway's name ("Line 1 Relays"): a plant has many.
        <section className="devices" aria-labelledby={`gw-${id}-title gw-${id}-sensors`}>
          <h3 className="sr-only" id={`gw-${id}-sensors`}>
            {t('gateway.sensors')}
          </h3>
          {devices.map(([key, device]) => (
            <DeviceCard
              key={key}
              device={device}
              card={deviceCardState(plant, device)}
              alarm={worstAlarmOf(plant.alarms, device.gateway, device.id, nowMs / 1000)}
              onService={
                canSwitch
                  ? (inService, reason) =>
                      void client.setService({
                        gateway: device.gateway,
                        device: device.id,
                        in_service: inService,
                        ...(reason === undefined ? {} : { reason }),
                      })
                  : undefined
              }
              history={plant.history[key] ?? []}
              nowMs={nowMs}
              freshMs={config.freshness.deviceFreshMs}
            />
          ))}
        </section>
      )}
      <div className="gateway-bottom">
        <section className="relays" aria-labelledby={`gw-${id}-title gw-${id}-relays`}>
          <h3 className="stats-title" id={`gw-${id}-relays`}>
            {t('gateway.relays')}
          </h3>
          {relays.map(([key, relay]) => (
            <SafeguardedRelay
              key={key}
              relayKey={key}
              relay={relay}
              plant={plant}
              client={client}
              gateway={status}
              canSwitch={canSwitch}
            />
          ))}
          {canSwitch && online && relays.length > 0 && (
            <AllToSafeButton client={client} gateway={id} />
          )}
          {relays.length === 0 && <p className="muted">{t('gateway.noRelays')}</p>}
        </section>
        <StatsPanel
          id={id}
          ownerTitleId={`gw-${id}-title`}
          title={t('gateway.system')}
          stats={plant.systemStats[id]}
          stale={!online}
          nowMs={nowMs}
        />
      </div>
    </section>
  );
}
