import { worstAlarmOf } from '../alarms';
import type { LiveClient } from '../client';
import type { DashboardConfig } from '../config';
import { formatSilence, formatUtc } from '../format';
import { deviceCardState, gatewayStatus, type PlantState, relaySwitchState } from '../plant';
import type { Gateway, GatewayStatus } from '../types';
import { DeviceCard } from './DeviceCard';
import { RelaySwitch } from './RelaySwitch';
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
const STATUS: Record<GatewayStatus, { text: string; icon: string; badge: string }> = {
  online: { text: 'Online', icon: '●', badge: 'badge-ok' },
  silent: { text: 'Silent', icon: '◌', badge: 'badge-silent' },
  offline: { text: 'Offline', icon: '✕', badge: 'badge-off' },
};

function statusTitle(status: GatewayStatus, gateway: Gateway | undefined): string {
  if (status === 'online') return 'Connected and sending';
  if (status === 'offline') return 'Disconnected: its values are the last it sent';
  const since = gateway?.silent_since;
  const last = typeof since === 'number' ? `since ${formatUtc(since)}` : 'for a while';
  const after = gateway?.silent_after ? ` (silent after ${gateway.silent_after} s)` : '';
  return `Connected, but nothing received ${last}${after}: its values are not live and commands are refused`;
}

export function GatewayPanel({ id, plant, client, config, nowMs, canSwitch }: Props) {
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
        <h2 id={`gw-${id}-title`}>{title}</h2>
        <span className={`badge ${shown.badge}`} title={statusTitle(status, gateway)}>
          <span className="badge-icon" aria-hidden="true" data-testid="gateway-status-icon">
            {shown.icon}
          </span>{' '}
          <span data-testid="gateway-status">{shown.text}</span>
        </span>
        {status === 'silent' && (
          <span
            className="silent-since"
            data-testid="gateway-silent-since"
            title={statusTitle(status, gateway)}
          >
            {formatSilence(gateway?.silent_since, nowMs)}; values not live
          </span>
        )}
        {gateway?.version ? <span className="muted">v{gateway.version}</span> : null}
      </header>
      {devices.length > 0 && (
        <section className="devices" aria-label="Sensors and inputs">
          {devices.map(([key, device]) => (
            <DeviceCard
              key={key}
              device={device}
              card={deviceCardState(plant, device)}
              alarm={worstAlarmOf(plant.alarms, device.gateway, device.id, nowMs / 1000)}
              history={plant.history[key] ?? []}
              nowMs={nowMs}
              freshMs={config.freshness.deviceFreshMs}
            />
          ))}
        </section>
      )}
      <div className="gateway-bottom">
        <section className="relays" aria-label="Relays">
          <h3 className="stats-title">Relays</h3>
          {relays.map(([key, relay]) => (
            <RelaySwitch
              key={key}
              relay={relay}
              state={relaySwitchState(plant, key)}
              error={plant.commandErrors[key]}
              requested={plant.pending[key]?.requested}
              gateway={status}
              canSwitch={canSwitch}
              onToggle={(on) => client.setRelay(relay.gateway, relay.id, on)}
              onDismiss={() => client.dismissError(relay.gateway, relay.id)}
            />
          ))}
          {relays.length === 0 && <p className="muted">No relays.</p>}
        </section>
        <StatsPanel
          id={id}
          title="System"
          stats={plant.systemStats[id]}
          stale={!online}
          nowMs={nowMs}
        />
      </div>
    </section>
  );
}
