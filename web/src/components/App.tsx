import { useState } from 'react';
import { mayRead, maySwitch } from '../auth';
import type { LiveClient } from '../client';
import type { DashboardConfig } from '../config';
import { indicator } from '../connection';
import { useNow, useSnapshot } from '../hooks';
import { gatewayIds, silentGateways } from '../plant';
import { AlarmBanner } from './AlarmBanner';
import { AlarmList } from './AlarmList';
import { ConnectionIndicator } from './ConnectionIndicator';
import { EventLogView } from './EventLogView';
import { GatewayPanel } from './GatewayPanel';
import { LoginForm } from './LoginForm';
import { StatsPanel } from './StatsPanel';

// Every user-visible string this file adds, for the translation catalogs.
const TEXT = { plant: 'Plant', alarms: 'Alarms', events: 'Event log', views: 'Views' };

type View = 'plant' | 'alarms' | 'events';

export function App({ client, config }: { client: LiveClient; config: DashboardConfig }) {
  const snap = useSnapshot(client);
  const [view, setView] = useState<View>('plant');
  const now = useNow(1000);
  const { plant, auth } = snap;
  const ind = indicator(
    snap.mode,
    snap.lastSyncMs,
    now,
    config.freshness,
    snap.httpError,
    auth.status === 'required',
    silentGateways(plant),
  );
  const canSwitch = maySwitch(auth);
  const ids = gatewayIds(plant);
  return (
    <>
      <header className="topbar">
        <h1>Factory IoT</h1>
        <div className="topbar-right">
          <ConnectionIndicator mode={snap.mode} ind={ind} />
          {auth.status === 'signed_in' && auth.user !== null && (
            <span className="user" data-testid="user">
              {auth.user.name} <span className="muted">({auth.user.role})</span>
              <button type="button" className="link" onClick={() => void client.logout()}>
                Log out
              </button>
            </span>
          )}
        </div>
      </header>
      {mayRead(auth) && (
        <nav className="views" aria-label={TEXT.views}>
          <AlarmBanner
            alarms={plant.alarms}
            nowMs={now}
            user={auth.user?.name ?? null}
            onOpen={() => setView('alarms')}
          />
          {(['plant', 'alarms', 'events'] as const).map((v) => (
            <button
              key={v}
              type="button"
              className="view-tab"
              aria-current={view === v ? 'page' : undefined}
              data-testid={`view-${v}`}
              onClick={() => setView(v)}
            >
              {TEXT[v]}
            </button>
          ))}
        </nav>
      )}
      {mayRead(auth) && view === 'alarms' && (
        <main className="plant">
          <AlarmList alarms={plant.alarms} client={client} nowMs={now} canHandle={canSwitch} />
        </main>
      )}
      {mayRead(auth) && view === 'events' && (
        <main className="plant">
          <EventLogView client={client} gateways={ids} />
        </main>
      )}
      {!mayRead(auth) && (
        <main className="plant">
          <LoginForm auth={auth} onLogin={(u, p) => void client.login(u, p)} />
        </main>
      )}
      {mayRead(auth) && view === 'plant' && (
        <main className="plant" data-stale={ind.stale} aria-busy={plant.version === null}>
          {plant.version === null && (
            <p className="placeholder" data-testid="placeholder">
              Waiting for the plant's state from the bridge…
            </p>
          )}
          {plant.version !== null && ids.length === 0 && (
            <p className="placeholder" data-testid="placeholder">
              No gateway has reported yet.
            </p>
          )}
          {ids.map((id) => (
            <GatewayPanel
              key={id}
              id={id}
              plant={plant}
              client={client}
              config={config}
              nowMs={now}
              canSwitch={canSwitch}
            />
          ))}
          {plant.systemStats.bridge !== undefined && (
            <StatsPanel
              id="bridge"
              title="Bridge"
              stats={plant.systemStats.bridge}
              stale={false}
              nowMs={now}
            />
          )}
        </main>
      )}
    </>
  );
}
