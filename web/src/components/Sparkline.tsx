import { sparklinePoints } from '../sparkline';
import type { HistoryPoint } from '../types';

const W = 120;
const H = 28;

export function Sparkline({ points }: { points: HistoryPoint[] }) {
  const line = sparklinePoints(points, W, H);
  return (
    <svg
      className="spark"
      viewBox={`0 0 ${W} ${H}`}
      preserveAspectRatio="none"
      aria-hidden="true"
      data-testid="sparkline"
      data-points={points.length}
    >
      {line !== '' && <polyline points={line} vectorEffect="non-scaling-stroke" />}
    </svg>
  );
}
