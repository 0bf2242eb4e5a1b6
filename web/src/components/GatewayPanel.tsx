import type { LiveClient } from '../client';
import type { DashboardConfig } from '../config';
import { deviceCardState, type PlantState, relaySwitchState } from '../plant';
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

export function GatewayPanel({ id, plant, client, config, nowMs, canSwitch }: Props) {
  const gateway = plant.gateways[id];
  const online = gateway?.online !== false;
  const devices = Object.entries(plant.devices).filter(([, d]) => d.gateway === id);
  const relays = Object.entries(plant.relays).filter(([, r]) => r.gateway === id);
  const title = gateway?.name ?? id;
  return (
    <section
      className={`gateway${online ? '' : ' gateway-offline'}`}
      data-testid={`gateway-${id}`}
      data-online={online}
      aria-labelledby={`gw-${id}-title`}
    >
      <header className="gateway-head">
        <h2 id={`gw-${id}-title`}>{title}</h2>
        <span className={`badge ${online ? 'badge-ok' : 'badge-off'}`} data-testid="gateway-status">
          {online ? 'Online' : 'Offline'}
        </span>
        {gateway?.version ? <span className="muted">v{gateway.version}</span> : null}
      </header>
      {devices.length > 0 && (
        <section className="devices" aria-label="Sensors and inputs">
          {devices.map(([key, device]) => (
            <DeviceCard
              key={key}
              device={device}
              card={deviceCardState(plant, device)}
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
              gatewayOnline={online}
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
