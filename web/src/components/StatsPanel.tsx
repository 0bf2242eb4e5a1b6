import { formatAge, formatPercent, formatTemperature, formatUptime } from '../format';
import { useFormats } from '../i18n';
import type { SystemStats } from '../types';

interface Props {
  id: string;
  /** The region's name: unique on the page (landmarks are told apart by it). */
  title: string;
  /** The visible heading, when shorter than the region's name. */
  heading?: string;
  stats: SystemStats | undefined;
  stale: boolean;
  nowMs: number;
}

const ROWS = ['cpu', 'memory', 'disk', 'temperature', 'uptime'] as const;

export function StatsPanel({ id, title, heading, stats, stale, nowMs }: Props) {
  const f = useFormats();
  const values: Record<(typeof ROWS)[number], string> = {
    cpu: formatPercent(f, stats?.cpu),
    memory: formatPercent(f, stats?.memory),
    disk: formatPercent(f, stats?.disk),
    temperature: formatTemperature(f, stats?.temperature),
    uptime: formatUptime(f, stats?.uptime),
  };
  const isStale = stale || stats?.quality === 'stale';
  return (
    <section
      className={`stats${isStale ? ' stats-stale' : ''}`}
      data-testid={`stats-${id}`}
      data-state={stats === undefined ? 'none' : isStale ? 'stale' : 'good'}
      aria-label={title}
    >
      <h3 className="stats-title">
        {heading ?? title}
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
            <dd data-testid={`stat-${row}`}>{values[row]}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
