import { useState } from 'react';
import { useFormats } from '../i18n';
import type { CommandOutcome, Device } from '../types';
import { ConfirmDialog } from './ConfirmDialog';

interface Props {
  device: Device;
  /** False for a viewer: the control says why instead of acting. */
  allowed: boolean;
  onService: (inService: boolean, reason?: string) => Promise<CommandOutcome>;
}

/** Taking a device out of service (with a reason, asked in an in-page dialog) or back. The
 * card shows the change when the bridge's record arrives; a refusal is shown here. */
export function ServiceControl({ device, allowed, onService }: Props) {
  const f = useFormats();
  const { t } = f;
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState('');
  const [note, setNote] = useState<string | null>(null);
  const name = device.name ?? device.id;
  const outOfService = Boolean(device.out_of_service);
  const send = (inService: boolean, why?: string) =>
    void onService(inService, why).then((outcome) =>
      setNote(
        outcome.ok ? null : t('device.serviceFailed', { detail: outcome.detail ?? outcome.error }),
      ),
    );
  return (
    <>
      <button
        type="button"
        className="link card-service"
        data-testid="service-toggle"
        aria-disabled={!allowed}
        title={allowed ? undefined : t('device.serviceWhyNot')}
        onClick={() => {
          setNote(null);
          if (!allowed) setNote(t('device.serviceWhyNot'));
          else if (outOfService) send(true);
          else setAsking(true);
        }}
      >
        {outOfService ? t('device.returnToService') : t('device.takeOut')}
      </button>
      {note !== null && (
        <p
          className={allowed ? 'relay-failure' : 'relay-why'}
          role={allowed ? 'alert' : 'status'}
          data-testid="service-note"
        >
          {note}
        </p>
      )}
      {asking && (
        <ConfirmDialog
          testId="confirm-service"
          title={t('device.serviceTitle', { name })}
          confirmLabel={t('device.takeOut')}
          cancelLabel={t('alarms.cancel')}
          canConfirm={reason.trim() !== ''}
          onConfirm={() => {
            setAsking(false);
            send(false, reason.trim());
            setReason('');
          }}
          onCancel={() => setAsking(false)}
        >
          <p>{t('device.serviceBody')}</p>
          <label className="lock-reason">
            {t('device.reasonPrompt')}
            <input
              type="text"
              value={reason}
              maxLength={256}
              required
              data-testid="service-reason"
              onChange={(event) => setReason(event.target.value)}
            />
          </label>
        </ConfirmDialog>
      )}
    </>
  );
}
