import { useState } from 'react';
import type { LiveClient } from '../client';
import { useFormats } from '../i18n';
import type { AllToSafeAnswer } from '../safeguards';
import { ConfirmDialog } from './ConfirmDialog';

/** "All to safe" for one gateway or (without `gateway`) the plant: confirmed, said not to be
 * an emergency stop, shown until every gateway has answered. */
export function AllToSafeButton({ client, gateway }: { client: LiveClient; gateway?: string }) {
  const { t } = useFormats();
  const [confirming, setConfirming] = useState(false);
  const [running, setRunning] = useState(false);
  const [answer, setAnswer] = useState<AllToSafeAnswer | null>(null);
  const testId = gateway === undefined ? 'all-to-safe-plant' : `all-to-safe-${gateway}`;
  const failures = Object.entries(answer?.gateways ?? {})
    .filter(([, o]) => !o.ok)
    .map(([who, o]) => {
      const detail = o.detail ?? o.error ?? '';
      return who === '*'
        ? t('safeguards.allRefused', { detail })
        : t('safeguards.allFailed', { who, detail });
    });
  return (
    <span className="all-to-safe" data-testid={testId}>
      <button
        type="button"
        className="danger"
        disabled={running}
        onClick={() => {
          setAnswer(null);
          setConfirming(true);
        }}
      >
        {gateway === undefined ? t('safeguards.allToSafePlant') : t('safeguards.allToSafe')}
      </button>
      <span role="status" className="all-to-safe-status" data-testid="all-to-safe-status">
        {running && t('safeguards.allRunning')}
        {answer?.ok && t('safeguards.allDone')}
        {failures.join('; ')}
      </span>
      {confirming && (
        <ConfirmDialog
          testId="confirm-all-to-safe"
          title={
            gateway === undefined
              ? t('safeguards.allTitlePlant')
              : t('safeguards.allTitleGateway', { target: gateway })
          }
          confirmLabel={t('safeguards.allYes')}
          cancelLabel={t('safeguards.cancel')}
          onConfirm={() => {
            setConfirming(false);
            setRunning(true);
            void client.allToSafe(gateway).then((result) => {
              setRunning(false);
              setAnswer(result);
            });
          }}
          onCancel={() => setConfirming(false)}
        >
          <p>{t('safeguards.allBody')}</p>
          <p className="warning" data-testid="not-an-estop">
            <strong>{t('safeguards.notEstop')}</strong>
          </p>
        </ConfirmDialog>
      )}
    </span>
  );
}
