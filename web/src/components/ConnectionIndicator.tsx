import type { Indicator, Mode } from '../connection';
import { useFormats } from '../i18n';

export function ConnectionIndicator({ mode, ind }: { mode: Mode; ind: Indicator }) {
  const { t } = useFormats();
  return (
    <div
      className={`conn conn-${ind.tone}`}
      data-testid="connection-status"
      data-mode={mode}
      data-stale={ind.stale}
    >
      <span className="conn-dot" aria-hidden="true" />
      {/* Only the mode is announced: an age ticking every second would drown a screen reader. */}
      <span className="conn-label" data-testid="connection-label" role="status" aria-live="polite">
        {ind.label}
        {ind.stale && ind.hasData ? (
          <span className="sr-only">{t('connection.staleData')}</span>
        ) : null}
      </span>
      <span className="conn-age" data-testid="data-age" title={ind.ageTitle ?? undefined}>
        {ind.age}
      </span>
      {ind.detail !== null && (
        <span
          className="conn-detail"
          data-testid="connection-detail"
          title={ind.detailTitle ?? undefined}
        >
          {ind.detail}
        </span>
      )}
    </div>
  );
}
