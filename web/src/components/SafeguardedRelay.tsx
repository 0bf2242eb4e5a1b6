import { useState } from 'react';
import type { LiveClient } from '../client';
import { useFormats } from '../i18n';
import { type PlantState, relaySwitchState } from '../plant';
import { blockedOn, lockText, wearText } from '../safeguards';
import type { Alarm, CommandOutcome, GatewayStatus, Relay } from '../types';
import { ConfirmDialog } from './ConfirmDialog';
import { RelayAlarmMark } from './RelayAlarmMark';
import { RelaySwitch } from './RelaySwitch';

interface Props {
  relayKey: string;
  relay: Relay;
  plant: PlantState;
  client: LiveClient;
  gateway: GatewayStatus;
  canSwitch: boolean;
  /** Its most urgent active alarm, if any: marked like a device card's. */
  alarm?: Alarm | null;
}

/** A relay with its safeguards: the confirmation it asks for, its lock, the interlock that
 * holds it off, its wear. The gateway enforces all of them; this shows them beforehand. */
export function SafeguardedRelay(props: Props) {
  const { relayKey, relay, plant, client, gateway, canSwitch, alarm = null } = props;
  const f = useFormats();
  const { t } = f;
  const [confirming, setConfirming] = useState<boolean | null>(null);
  const [locking, setLocking] = useState(false);
  const [reason, setReason] = useState('');
  const [lockError, setLockError] = useState<string | null>(null);
  const name = relay.name ?? relay.id;
  const lock = relay.lock ?? null;
  const blocked = relay.on === true ? null : blockedOn(f, plant, relay);
  const wear = wearText(f, relay);
  const switchTo = (on: boolean, confirmed: boolean) =>
    client.setRelay(relay.gateway, relay.id, on, confirmed);
  const answered = (key: 'lockFailed' | 'unlockFailed') => (outcome: CommandOutcome) =>
    setLockError(
      outcome.ok ? null : t(`safeguards.${key}`, { detail: outcome.detail ?? outcome.error ?? '' }),
    );
  const held =
    lock !== null
      ? t('safeguards.heldLocked')
      : blocked !== null
        ? t('safeguards.heldInterlocked')
        : null;
  return (
    <div
      className={`safeguarded-relay${alarm ? ` relay-alarm priority-${alarm.priority}` : ''}`}
      data-testid={`safeguarded-${relay.gateway}-${relay.id}`}
      data-alarm={alarm?.priority}
    >
      <RelaySwitch
        relay={relay}
        state={relaySwitchState(plant, relayKey)}
        error={plant.commandErrors[relayKey]}
        requested={plant.pending[relayKey]?.requested}
        gateway={gateway}
        canSwitch={canSwitch}
        held={held}
        onToggle={(on) => (relay.confirm ? setConfirming(on) : switchTo(on, false))}
        onDismiss={() => client.dismissError(relay.gateway, relay.id)}
      />
      {alarm !== null && <RelayAlarmMark alarm={alarm} />}
      {lock !== null && (
        <p className="relay-lock" data-testid="relay-lock">
          <bdi>{lockText(f, lock)}</bdi>
        </p>
      )}
      {blocked !== null && lock === null && (
        <p className="relay-interlock" data-testid="relay-interlock">
          {blocked}
        </p>
      )}
      {relay.reason === 'trip' && relay.rule && (
        <p className="relay-trip muted" data-testid="relay-trip">
          {t('safeguards.trip', { rule: relay.rule })}
        </p>
      )}
      <div className="relay-extras">
        {wear !== null && (
          <span className="relay-wear muted" data-testid="relay-wear">
            {wear}
          </span>
        )}
        {canSwitch && gateway === 'online' && (
          <button
            type="button"
            className="link"
            data-testid={lock === null ? 'relay-lock-button' : 'relay-unlock-button'}
            onClick={() => {
              setLockError(null);
              if (lock === null) setLocking(true);
              else
                void client
                  .lockRelay(relay.gateway, relay.id, false)
                  .then(answered('unlockFailed'));
            }}
          >
            {lock === null ? t('safeguards.lock') : t('safeguards.unlock')}
          </button>
        )}
      </div>
      {lockError !== null && (
        <p className="relay-failure" role="alert" data-testid="relay-lock-error">
          {lockError}
        </p>
      )}
      {confirming !== null && (
        <ConfirmDialog
          testId="confirm-switch"
          title={t(confirming ? 'safeguards.confirmOn' : 'safeguards.confirmOff', { name })}
          confirmLabel={t(confirming ? 'safeguards.switchOn' : 'safeguards.switchOff')}
          cancelLabel={t('safeguards.cancel')}
          onConfirm={() => {
            switchTo(confirming, true);
            setConfirming(null);
          }}
          onCancel={() => setConfirming(null)}
        >
          <p>{t('safeguards.confirmBody')}</p>
        </ConfirmDialog>
      )}
      {locking && (
        <ConfirmDialog
          testId="confirm-lock"
          title={t('safeguards.lockTitle', { name })}
          confirmLabel={t('safeguards.lockYes')}
          cancelLabel={t('safeguards.cancel')}
          canConfirm={reason.trim() !== ''}
          onConfirm={() => {
            setLocking(false);
            void client
              .lockRelay(relay.gateway, relay.id, true, reason.trim())
              .then(answered('lockFailed'));
            setReason('');
          }}
          onCancel={() => setLocking(false)}
        >
          <p>{t('safeguards.lockBody')}</p>
          <label className="lock-reason">
            {t('safeguards.reason')}
            <input
              type="text"
              value={reason}
              maxLength={256}
              required
              data-testid="lock-reason"
              onChange={(event) => setReason(event.target.value)}
            />
          </label>
        </ConfirmDialog>
      )}
    </div>
  );
}
