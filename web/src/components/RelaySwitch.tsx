import { useState } from 'react';
import type { ErrorCode } from '../generated/contract';
import type { CommandError, SwitchState } from '../plant';
import type { GatewayStatus, Relay } from '../types';

interface Props {
  relay: Relay;
  state: SwitchState;
  error: CommandError | undefined;
  requested: boolean | undefined;
  gateway: GatewayStatus;
  /** False for a viewer: the switch shows the state but cannot be used. */
  canSwitch: boolean;
  onToggle: (on: boolean) => void;
  onDismiss: () => void;
}

// Every code of the contract has its words: the compiler refuses a missing one.
const ERRORS: Record<ErrorCode, string> = {
  timeout: 'no answer in time',
  gateway_offline: 'gateway offline',
  gateway_silent: 'gateway silent (connected, not answering)',
  not_connected: 'bridge not connected',
  unknown_relay: 'unknown relay',
  expired: 'command expired',
  duplicate: 'duplicate command',
  too_soon: 'switched too recently',
  readback_mismatch: 'relay did not follow',
  hardware_error: 'hardware error',
  invalid: 'invalid command',
  forbidden: 'not allowed for your role',
  rate_limited: 'too many commands; wait a moment',
};

function describe(code: string): string {
  return Object.hasOwn(ERRORS, code) ? ERRORS[code as ErrorCode] : code;
}

const TEXT = {
  viewOnly: 'view only',
  whyNot: 'Your role may only view: switching relays needs an operator login.',
};

export function RelaySwitch(props: Props) {
  const { relay, state, error, requested, gateway, canSwitch, onToggle, onDismiss } = props;
  // A viewer's click is answered with the reason, never silently ignored.
  const [explained, setExplained] = useState(false);
  const gatewayOnline = gateway === 'online';
  const id = `relay-${relay.gateway}-${relay.id}`;
  const name = relay.name ?? relay.id;
  const known = typeof relay.on === 'boolean';
  // The switch always shows the state read back from the pin, never the one requested.
  const on = relay.on === true;
  const busy = state === 'pending';
  const stale = !gatewayOnline || relay.quality === 'stale';
  const disabled = busy || !gatewayOnline || !known || !canSwitch;
  let status = on ? 'On' : known ? 'Off' : 'Unknown';
  if (busy) status = `Switching ${requested ? 'on' : 'off'}…`;
  else if (!gatewayOnline) status = `${status} (gateway ${gateway})`;
  else if (!canSwitch) status = `${status} (${TEXT.viewOnly})`;
  return (
    <div className={`relay relay-${state}${stale ? ' relay-stale' : ''}`} data-testid={id}>
      <span className="relay-name" id={`${id}-name`} title={name}>
        {name}
      </span>
      <button
        type="button"
        role="switch"
        className="switch"
        aria-checked={on}
        aria-labelledby={`${id}-name`}
        aria-describedby={`${id}-status`}
        aria-disabled={disabled}
        aria-busy={busy}
        data-state={state}
        data-on={on}
        title={canSwitch ? undefined : TEXT.whyNot}
        onClick={() => {
          if (!disabled) onToggle(!on);
          else if (!canSwitch) setExplained(true);
        }}
      >
        <span className="switch-knob" aria-hidden="true" />
      </button>
      <span className="relay-status" id={`${id}-status`} data-testid="relay-status">
        {status}
      </span>
      {explained && !canSwitch && (
        <p className="relay-why" role="status" data-testid="relay-why">
          {TEXT.whyNot}
        </p>
      )}
      {error !== undefined && (
        <p className="relay-failure" role="alert" data-testid="relay-error">
          <span>Failed: {error.detail ?? describe(error.code)}</span>
          <button
            type="button"
            className="dismiss"
            onClick={onDismiss}
            aria-label={`Dismiss error for ${name}`}
          >
            ×
          </button>
        </p>
      )}
    </div>
  );
}
