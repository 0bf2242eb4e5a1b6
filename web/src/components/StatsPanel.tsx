import { formatAge, formatPercent, formatTemperature, formatUptime } from '../format';
import { useFormats } from '../i18n';
import type { SystemStats } from '../types';

interface Props {
  id: string;
  title: string;
  /** The element naming whose stats these are (its gateway's heading), for a unique name. */
  ownerTitleId?: string;
  stats: SystemStats | undefined;
  stale: boolean;
  nowMs: number;
}

const ROWS = ['cpu', 'memory', 'disk', 'temperature', 'uptime'] as const;

export function StatsPanel({ id, title, ownerTitleId, stats, stale, nowMs }: Props) {
  const f = useFormats();
  const values: Record<(typeof ROWS)[number], string> = {
    cpu: formatPercent(f, stats?.cpu),
    memory: formatPercent(f, stats?.memory),
    disk: formatPercent(f, stats?.disk),
    temperature: formatTemperature(f, stats?.temperature),
    uptime: formatUptime(f, stats?.uptime),
  };
  const isStale = stale || stats?.quality === 'stale';
  // Every value says when it was measured, on hover.
  const measured = stats?.ts ? f.t('stats.readAt', { at: f.dateTime(stats.ts) }) : undefined;
  return (
    <section
      className={`stats${isStale ? ' stats-stale' : ''}`}
      data-testid={`stats-${id}`}
      data-state={stats === undefined ? 'none' : isStale ? 'stale' : 'good'}
      aria-labelledby={
        ownerTitleId === undefined ? `stats-${id}-title` : `${ownerTitleId} stats-${id}-title`
      }
    >
      <h3 className="stats-title">
        <span id={`stats-${id}-title`}>{title}</span>
        {stats?.ts ? (
          <span className="card-age" title={f.dateTime(stats.ts)}>
            {' '}
            {formatAge(f, nowMs - stats.ts * 1000, 5000, 'ago')}
          </span>
        ) : null}
      </h3>
      <dl>
        {ROWS.map((row) => (
          <div key={row} className="stat">
            <dt>{f.t(`stats.${row}`)}</dt>
            <dd data-testid={`stat-${row}`} title={measured}>
              {values[row]}
            </dd>
          </div>
        ))}
        {typeof stats?.command_latency_s === 'number' && (
          // A gateway's own measure of its last relay command: receipt to pin read back.
          <div className="stat">
            <dt>{f.t('stats.command')}</dt>
            <dd data-testid="stat-command" title={measured}>
              {f.t('stats.commandMs', { ms: f.number(stats.command_latency_s * 1000, 1) })}
            </dd>
          </div>
        )}
      </dl>
    </section>
  );
}
