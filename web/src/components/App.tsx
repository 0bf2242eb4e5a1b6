import type { TFunction } from 'i18next';
import { useEffect, useMemo, useState } from 'react';
import { mayRead, maySwitch } from '../auth';
import type { LiveClient } from '../client';
import type { DashboardConfig } from '../config';
import { indicator } from '../connection';
import { useNow, useSnapshot } from '../hooks';
import { useFormats, useLocaleStore } from '../i18n';
import { gatewayIds, silentGateways } from '../plant';
import { AlarmBanner } from './AlarmBanner';
import { AlarmList } from './AlarmList';
import { AllToSafeButton } from './AllToSafeButton';
import { ConnectionIndicator } from './ConnectionIndicator';
import { EventLogView } from './EventLogView';
import { LocaleSwitch } from './LocaleSwitch';
import { LoginForm } from './LoginForm';
import { PlantScreen } from './PlantScreen';
import { StatsPanel } from './StatsPanel';

const ROLES = ['viewer', 'operator', 'admin'] as const;

/** A role the catalogs know, in the user's language; any other as the bridge named it. */
function roleName(t: TFunction, role: string): string {
  return (ROLES as readonly string[]).includes(role)
    ? t(`roles.${role as (typeof ROLES)[number]}`)
    : role;
}

type View = 'plant' | 'alarms' | 'events';

export function App({ client, config }: { client: LiveClient; config: DashboardConfig }) {
  const snap = useSnapshot(client);
  const [view, setView] = useState<View>('plant');
  const now = useNow(1000);
  const f = useFormats();
  const { t } = f;
  const { plant, auth } = snap;
  // Each user's language and digits are their own (remembered in this browser).
  const locale = useLocaleStore();
  const userName = auth.status === 'signed_in' ? (auth.user?.name ?? null) : null;
  useEffect(() => locale.setUser(userName), [locale, userName]);
  const ind = indicator(
    f,
    snap.mode,
    snap.lastSyncMs,
    now,
    config.freshness,
    snap.httpError,
    auth.status === 'required',
    silentGateways(plant),
  );
  const canSwitch = maySwitch(auth);
  // Listed anew only when a gateway, device or relay appears, not with every value.
  // biome-ignore lint/correctness/useExhaustiveDependencies: plant.shape stands for the structure
  const ids = useMemo(() => gatewayIds(plant), [plant.shape]);
  // Not reachable: the bridge's own figures are the last it sent, like a silent gateway's.
  const bridgeUnreachable =
    snap.mode === 'connecting' ||
    snap.mode === 'reconnecting' ||
    (snap.mode === 'fallback' && snap.httpError !== null);
  return (
    <>
      <header className="topbar">
        <h1>{t('app.title')}</h1>
        <div className="topbar-right">
          {canSwitch && ids.length > 0 && <AllToSafeButton client={client} />}
          <ConnectionIndicator mode={snap.mode} ind={ind} />
          <LocaleSwitch />
          {auth.status === 'signed_in' && auth.user !== null && (
            <span className="user" data-testid="user">
              <bdi>{auth.user.name}</bdi>{' '}
              <span className="muted">
                {t('app.userRole', { role: roleName(t, auth.user.role) })}
              </span>
              <button type="button" className="link" onClick={() => void client.logout()}>
                {t('app.logOut')}
              </button>
            </span>
          )}
        </div>
      </header>
      {mayRead(auth) && (
        <nav className="views" aria-label={t('views.label')}>
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
              {t(`views.${v}`)}
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
          <EventLogView client={client} gateways={ids} mode={snap.mode} />
        </main>
      )}
      {!mayRead(auth) && (
        <main className="plant">
          <LoginForm auth={auth} onLogin={(u, p) => void client.login(u, p)} />
        </main>
      )}
      {mayRead(auth) && view === 'plant' && (
        <main
          className="plant"
          aria-label={t('plant.region')}
          data-stale={ind.stale}
          aria-busy={plant.version === null}
        >
          {plant.version === null && (
            <p className="placeholder" data-testid="placeholder">
              {t('app.waitingForState')}
            </p>
          )}
          {plant.version !== null && ids.length === 0 && (
            <p className="placeholder" data-testid="placeholder">
              {t('app.noGateway')}
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
              title={t('app.bridge')}
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
