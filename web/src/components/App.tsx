import { mayRead, maySwitch } from '../auth';
import type { LiveClient } from '../client';
import type { DashboardConfig } from '../config';
import { indicator } from '../connection';
import { useNow, useSnapshot } from '../hooks';
import { gatewayIds, silentGateways } from '../plant';
import { ConnectionIndicator } from './ConnectionIndicator';
import { LoginForm } from './LoginForm';
import { PlantScreen } from './PlantScreen';
import { StatsPanel } from './StatsPanel';

export function App({ client, config }: { client: LiveClient; config: DashboardConfig }) {
  const snap = useSnapshot(client);
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
  // Not reachable: the bridge's own figures are the last it sent, like a silent gateway's.
  const bridgeUnreachable =
    snap.mode === 'connecting' ||
    snap.mode === 'reconnecting' ||
    (snap.mode === 'fallback' && snap.httpError !== null);
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
      {!mayRead(auth) && (
        <main className="plant">
          <LoginForm auth={auth} onLogin={(u, p) => void client.login(u, p)} />
        </main>
      )}
      {mayRead(auth) && (
        <main
          className="plant"
          aria-label="Plant"
          data-stale={ind.stale}
          aria-busy={plant.version === null}
        >
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
          {ids.length > 0 && (
            <PlantScreen
              plant={plant}
              client={client}
              config={config}
              nowMs={now}
              canSwitch={canSwitch}
            />
          )}
          {plant.systemStats.bridge !== undefined && (
            <StatsPanel
              id="bridge"
              title="Bridge"
              stats={plant.systemStats.bridge}
              stale={bridgeUnreachable}
              nowMs={now}
            />
          )}
        </main>
      )}
    </>
  );
}
