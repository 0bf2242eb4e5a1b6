// The whole plant on one screen: a search box, cards or a compact table, gateways that
// collapse, and the trend of any device a click away. Only panels near the viewport are drawn.
import { lazy, Suspense, useCallback, useMemo, useState } from 'react';
import { limitsByDevice, worstAlarms } from '../alarms';
import type { LiveClient } from '../client';
import type { DashboardConfig } from '../config';
import { useFormats } from '../i18n';
import { useNearViewport } from '../nearViewport';
import { deviceCardState, gatewayStatus, type PlantState, relaySwitchState } from '../plant';
import { plantView } from '../plantView';
import { GatewayPanel, type GatewaySlice, type Layout } from './GatewayPanel';
import type { LimitsOf } from './TrendView';

// The chart library loads with the first trend opened, not with the plant.
const TrendView = lazy(() => import('./TrendView').then((m) => ({ default: m.TrendView })));

interface Props {
  plant: PlantState;
  client: LiveClient;
  config: DashboardConfig;
  nowMs: number;
  canSwitch: boolean;
}

export function PlantScreen({ plant, client, config, nowMs, canSwitch }: Props) {
  const f = useFormats();
  const { t } = f;
  const [query, setQuery] = useState('');
  const [layout, setLayout] = useState<Layout>('cards');
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const [trend, setTrend] = useState<string | null>(null);

  // What is listed, and in which order, changes with a gateway's meta (a gateways_update),
  // a new device or relay (the plant's shape), or the query; not with the values that
  // stream in all the time.
  // biome-ignore lint/correctness/useExhaustiveDependencies: recomputed when the structure changes
  const views = useMemo(() => plantView(plant, query), [plant.gateways, plant.shape, query]);
  // The first render draws the first panel (a screen's worth of cards, or a small plant's
  // every device); the observer adds the rest near the viewport right after the first layout.
  const firstIds = useMemo(() => views.slice(0, 1).map((v) => v.id), [views]);
  const { near, refFor } = useNearViewport(firstIds);
  // Each device's alarm limits, drawn on its trend. The function changes only when a limit
  // does (not with every alarm's state), so an open chart is not rebuilt for nothing.
  const limits = useMemo(() => limitsByDevice(plant.alarms), [plant.alarms]);
  const limitsKey = useMemo(() => JSON.stringify(limits), [limits]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: limitsKey stands for limits
  const limitsOf = useMemo<LimitsOf>(
    () => (deviceKey) =>
      (limits[deviceKey] ?? []).map(({ condition, limit }) => ({
        value: limit,
        label: `${condition.toUpperCase()} ${t('alarms.limit', { limit: f.number(limit) })}`,
      })),
    [limitsKey, f, t],
  );
  // Each device's most urgent alarm, marked on its card or row.
  const worst = worstAlarms(plant.alarms, nowMs / 1000);
  // Entries are picked only for the panels that are drawn: a plant has thousands.
  const slices = views.map((v): GatewaySlice => {
    const gateway = plant.gateways[v.id];
    const drawn = near.has(v.id) && !collapsed.has(v.id);
    return {
      id: v.id,
      gateway,
      status: gatewayStatus(gateway),
      deviceCount: v.devices.length,
      relayCount: v.relays.length,
      devices: !drawn
        ? []
        : v.devices.flatMap((key) => {
            const device = plant.devices[key];
            return device === undefined
              ? []
              : [
                  {
                    key,
                    device,
                    card: deviceCardState(plant, device),
                    history: plant.history[key] ?? [],
                    alarm: worst[key] ?? null,
                  },
                ];
          }),
      relays: !drawn
        ? []
        : v.relays.flatMap((key) => {
            const relay = plant.relays[key];
            return relay === undefined
              ? []
              : [
                  {
                    key,
                    relay,
                    state: relaySwitchState(plant, key),
                    error: plant.commandErrors[key],
                    pending: plant.pending[key],
                    alarm: worst[key] ?? null,
                  },
                ];
          }),
      stats: plant.systemStats[v.id],
    };
  });

  const onCollapse = useCallback(
    (id: string) =>
      setCollapsed((held) => {
        const next = new Set(held);
        if (!next.delete(id)) next.add(id);
        return next;
      }),
    [],
  );
  const onService = useCallback(
    (gateway: string, device: string, inService: boolean, reason?: string) =>
      client.setService({
        gateway,
        device,
        in_service: inService,
        ...(reason === undefined ? {} : { reason }),
      }),
    [client],
  );
  const loadHistory = useCallback((path: string) => client.history(path), [client]);
  const closeTrend = useCallback(() => setTrend(null), []);

  const devices = slices.reduce((n, s) => n + s.deviceCount, 0);
  const relays = slices.reduce((n, s) => n + s.relayCount, 0);
  return (
    <>
      <search className="plant-tools" aria-label={t('plant.tools')}>
        <label className="plant-search">
          <span className="sr-only">{t('plant.search')}</span>
          <input
            type="search"
            value={query}
            placeholder={t('plant.searchPlaceholder')}
            onChange={(e) => setQuery(e.target.value)}
            data-testid="search"
          />
        </label>
        <fieldset className="segmented">
          <legend className="sr-only">{t('plant.layout')}</legend>
          {(['cards', 'table'] as const).map((l) => (
            <button
              key={l}
              type="button"
              aria-pressed={layout === l}
              onClick={() => setLayout(l)}
              data-testid={`layout-${l}`}
            >
              {t(`plant.${l}`)}
            </button>
          ))}
        </fieldset>
        <button
          type="button"
          onClick={() =>
            setCollapsed(collapsed.size > 0 ? new Set() : new Set(views.map((v) => v.id)))
          }
          data-testid="collapse-all"
        >
          {collapsed.size > 0 ? t('plant.expandAll') : t('plant.collapseAll')}
        </button>
        <span className="muted" data-testid="plant-count" aria-live="polite">
          {t('plant.count', {
            gateways: f.number(slices.length),
            devices: f.number(devices),
            relays: f.number(relays),
          })}
        </span>
      </search>
      {query.trim() !== '' && slices.length === 0 && (
        <p className="placeholder" data-testid="nothing-found">
          {t('plant.nothingFound', { query: query.trim() })}
        </p>
      )}
      {slices.map((slice) => (
        <div key={slice.id} ref={refFor(slice.id)} className="gateway-slot">
          <GatewayPanel
            slice={slice}
            config={config}
            nowMs={nowMs}
            canSwitch={canSwitch}
            layout={layout}
            collapsed={collapsed.has(slice.id)}
            near={near.has(slice.id)}
            onCollapse={onCollapse}
            plant={plant}
            client={client}
            onOpenTrend={setTrend}
            onService={onService}
          />
        </div>
      ))}
      {trend !== null && (
        <Suspense fallback={null}>
          <TrendView
            key={trend}
            initial={trend}
            plant={plant}
            loadHistory={loadHistory}
            onClose={closeTrend}
            limitsOf={limitsOf}
          />
        </Suspense>
      )}
    </>
  );
}
