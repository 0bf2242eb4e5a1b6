import type { Indicator, Mode } from '../connection';

export function ConnectionIndicator({ mode, ind }: { mode: Mode; ind: Indicator }) {
  return (
    <div
      className={`conn conn-${ind.tone}`}
      data-testid="connection-status"
      data-mode={mode}
      data-stale={ind.stale}
      role="status"
      aria-live="polite"
    >
      <span className="conn-dot" aria-hidden="true" />
      <span className="conn-label" data-testid="connection-label">
        {ind.label}
      </span>
      <span className="conn-age" data-testid="data-age">
        {ind.age}
      </span>
      {ind.detail !== null && <span className="conn-detail">{ind.detail}</span>}
    </div>
  );
}
