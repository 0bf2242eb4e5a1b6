import { useState } from 'react';
import type { LiveClient } from '../client';
import type { AllToSafeAnswer } from '../safeguards';
import { ConfirmDialog } from './ConfirmDialog';

// Every user-visible string of this component, for the coming translation catalogs.
const TEXT = {
  button: (plantWide: boolean) => (plantWide ? 'All to safe (plant)' : 'All to safe'),
  title: (target: string) => `Drive every relay of ${target} to its safe state?`,
  plant: 'the whole plant',
  body: 'Every relay goes to its safe state, locked relays too; relays that others depend on go last.',
  notEstop:
    'This is not a safety-rated emergency stop: it travels over the network and software. Use the machine’s emergency stop for safety.',
  yes: 'Drive to safe state',
  cancel: 'Cancel',
  running: 'Driving every relay to its safe state…',
  done: 'Every relay is at its safe state.',
  failed: (who: string, detail: string) => `${who === '*' ? 'Refused' : who}: ${detail}`,
};

/** "All to safe" for one gateway or (without `gateway`) the plant: confirmed, shown until
 * every gateway has answered. */
export function AllToSafeButton({ client, gateway }: { client: LiveClient; gateway?: string }) {
  const [confirming, setConfirming] = useState(false);
  const [running, setRunning] = useState(false);
  const [answer, setAnswer] = useState<AllToSafeAnswer | null>(null);
  const testId = gateway === undefined ? 'all-to-safe-plant' : `all-to-safe-${gateway}`;
  const failures = Object.entries(answer?.gateways ?? {}).filter(([, o]) => !o.ok);
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
        {TEXT.button(gateway === undefined)}
      </button>
      <span role="status" className="all-to-safe-status" data-testid="all-to-safe-status">
        {running && TEXT.running}
        {answer?.ok && TEXT.done}
        {failures.map(([who, o]) => TEXT.failed(who, o.detail ?? o.error ?? '')).join('; ')}
      </span>
      {confirming && (
        <ConfirmDialog
          testId="confirm-all-to-safe"
          title={TEXT.title(gateway ?? TEXT.plant)}
          confirmLabel={TEXT.yes}
          cancelLabel={TEXT.cancel}
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
          <p>{TEXT.body}</p>
          <p className="warning" data-testid="not-an-estop">
            <strong>{TEXT.notEstop}</strong>
          </p>
        </ConfirmDialog>
      )}
    </span>
  );
}
