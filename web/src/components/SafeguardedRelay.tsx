import { useState } from 'react';
import type { LiveClient } from '../client';
import { type PlantState, relaySwitchState } from '../plant';
import { blockedOn, TEXT as SAFEGUARDS, wearText } from '../safeguards';
import type { GatewayStatus, Relay } from '../types';
import { ConfirmDialog } from './ConfirmDialog';
import { RelaySwitch } from './RelaySwitch';

// Every user-visible string of this component, for the coming translation catalogs.
const TEXT = {
  confirmTitle: (name: string, on: boolean) => `Switch ${name} ${on ? 'on' : 'off'}?`,
  confirmBody: 'This relay asks for confirmation before it is switched.',
  confirmYes: (on: boolean) => (on ? 'Switch on' : 'Switch off'),
  cancel: 'Cancel',
  lock: 'Lock…',
  unlock: 'Unlock',
  lockTitle: (name: string) => `Lock ${name} in its current state?`,
  lockBody:
    'While it is locked, the gateway refuses every command to it, from anyone. Only you or an admin can unlock it. Its safe state (link loss, interlock trip, all to safe) still acts.',
  reason: 'Reason (who works on what)',
  lockYes: 'Lock',
  lockFailed: (detail: string) => `Lock not applied: ${detail}`,
  heldLocked: 'locked',
  heldInterlocked: 'interlocked',
  unlockFailed: (detail: string) => `Unlock refused: ${detail}`,
};

interface Props {
  relayKey: string;
  relay: Relay;
  plant: PlantState;
  client: LiveClient;
  gateway: GatewayStatus;
  canSwitch: boolean;
}

/** A relay with its safeguards: the confirmation it asks for, its lock, the interlock that
 * holds it off, its wear. The gateway enforces all of them; this shows them beforehand. */
export function SafeguardedRelay({ relayKey, relay, plant, client, gateway, canSwitch }: Props) {
  const [confirming, setConfirming] = useState<boolean | null>(null);
  const [locking, setLocking] = useState(false);
  const [reason, setReason] = useState('');
  const [lockError, setLockError] = useState<string | null>(null);
  const name = relay.name ?? relay.id;
  const lock = relay.lock ?? null;
  const blocked = relay.on === true ? null : blockedOn(plant, relay);
  const wear = wearText(relay);
  const switchTo = (on: boolean, confirmed: boolean) =>
    client.setRelay(relay.gateway, relay.id, on, confirmed);
  const lockAnswer =
    (failed: (d: string) => string) =>
    (outcome: { ok: boolean; detail: string | null; error: string | null }) =>
      setLockError(outcome.ok ? null : failed(outcome.detail ?? outcome.error ?? ''));
  return (
    <div className="safeguarded-relay" data-testid={`safeguarded-${relay.gateway}-${relay.id}`}>
      <RelaySwitch
        relay={relay}
        state={relaySwitchState(plant, relayKey)}
        error={plant.commandErrors[relayKey]}
        requested={plant.pending[relayKey]?.requested}
        gateway={gateway}
        canSwitch={canSwitch}
        held={lock !== null ? TEXT.heldLocked : blocked !== null ? TEXT.heldInterlocked : null}
        onToggle={(on) => (relay.confirm ? setConfirming(on) : switchTo(on, false))}
        onDismiss={() => client.dismissError(relay.gateway, relay.id)}
      />
      {lock !== null && (
        <p className="relay-lock" data-testid="relay-lock">
          {SAFEGUARDS.locked(lock)}
        </p>
      )}
      {blocked !== null && lock === null && (
        <p className="relay-interlock" data-testid="relay-interlock">
          {blocked}
        </p>
      )}
      {relay.reason === 'trip' && relay.rule && (
        <p className="relay-trip muted" data-testid="relay-trip">
          {SAFEGUARDS.trip(relay.rule)}
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
                  .then(lockAnswer(TEXT.unlockFailed));
            }}
          >
            {lock === null ? TEXT.lock : TEXT.unlock}
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
          title={TEXT.confirmTitle(name, confirming)}
          confirmLabel={TEXT.confirmYes(confirming)}
          cancelLabel={TEXT.cancel}
          onConfirm={() => {
            switchTo(confirming, true);
            setConfirming(null);
          }}
          onCancel={() => setConfirming(null)}
        >
          <p>{TEXT.confirmBody}</p>
        </ConfirmDialog>
      )}
      {locking && (
        <ConfirmDialog
          testId="confirm-lock"
          title={TEXT.lockTitle(name)}
          confirmLabel={TEXT.lockYes}
          cancelLabel={TEXT.cancel}
          canConfirm={reason.trim() !== ''}
          onConfirm={() => {
            setLocking(false);
            void client
              .lockRelay(relay.gateway, relay.id, true, reason.trim())
              .then(lockAnswer(TEXT.lockFailed));
            setReason('');
          }}
          onCancel={() => setLocking(false)}
        >
          <p>{TEXT.lockBody}</p>
          <label className="lock-reason">
            {TEXT.reason}
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
