import { formatAge, formatPercent, formatTemperature, formatUptime } from '../format';
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

export function StatsPanel({ id, title, heading, stats, stale, nowMs }: Props) {
  const rows: [string, string][] = [
    ['CPU', formatPercent(stats?.cpu)],
    ['Memory', formatPercent(stats?.memory)],
    ['Disk', formatPercent(stats?.disk)],
    ['Temperature', formatTemperature(stats?.temperature)],
    ['Uptime', formatUptime(stats?.uptime)],
  ];
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
          <span className="card-age"> {formatAge(nowMs - stats.ts * 1000, 5000, 'ago')}</span>
        ) : null}
      </h3>
      <dl>
        {rows.map(([label, value]) => (
          <div key={label} className="stat">
            <dt>{label}</dt>
            <dd data-testid={`stat-${label.toLowerCase()}`}>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
