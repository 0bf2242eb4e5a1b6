import { useState } from 'react';
import type { ErrorCode } from '../generated/contract';
import { useFormats } from '../i18n';
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
  /** Why nobody can switch it now, in words ("locked", "interlocked"); null: nothing. */
  held?: string | null;
  onToggle: (on: boolean) => void;
  onDismiss: () => void;
}

// Every code of the contract has its words in the catalogs (relay.errors.<code>): the
// compiler refuses a code missing from en.json, catalogs.test.ts one missing from fa.json.
const ERROR_CODES = {
  timeout: true,
  gateway_offline: true,
  gateway_silent: true,
  not_connected: true,
  unknown_relay: true,
  unknown_alarm: true,
  unknown_device: true,
  expired: true,
  duplicate: true,
  too_soon: true,
  readback_mismatch: true,
  hardware_error: true,
  interlocked: true,
  locked: true,
  invalid: true,
  forbidden: true,
  rate_limited: true,
} as const satisfies Record<ErrorCode, true>;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

export function RelaySwitch(props: Props) {
  const { relay, state, error, requested, gateway, canSwitch, held, onToggle, onDismiss } = props;
  const f = useFormats();
  const { t } = f;
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
  const disabled = busy || !gatewayOnline || !known || !canSwitch || Boolean(held);
  let status = on ? t('relay.on') : known ? t('relay.off') : t('relay.unknown');
  if (busy) status = requested ? t('relay.switchingOn') : t('relay.switchingOff');
  else if (gateway !== 'online')
    status = t('relay.withGateway', { status, why: t(`gateway.note.${gateway}`) });
  else if (!canSwitch) status = t('relay.viewOnly', { status });
  else if (held) status = t('relay.held', { status, why: held });
  // The bridge's detail is English; a code we know reads better in the user's language.
  const reason =
    error === undefined
      ? ''
      : isErrorCode(error.code) && (error.detail === null || f.language !== 'en')
        ? t(`relay.errors.${error.code}`)
        : (error.detail ?? error.code);
  return (
    <div className={`relay relay-${state}${stale ? ' relay-stale' : ''}`} data-testid={id}>
      <span className="relay-name" id={`${id}-name`} title={name}>
        <bdi>{name}</bdi>
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
        title={canSwitch ? undefined : t('relay.whyNot')}
        onClick={() => {
          if (!disabled) onToggle(!on);
          else if (!canSwitch) setExplained(true);
        }}
      >
        <span className="switch-knob" aria-hidden="true" />
      </button>
      <span
        className="relay-status"
        id={`${id}-status`}
        data-testid="relay-status"
        title={relay.ts === null ? undefined : t('relay.stateAt', { at: f.dateTime(relay.ts) })}
      >
        {status}
      </span>
      {explained && !canSwitch && (
        <p className="relay-why" role="status" data-testid="relay-why">
          {t('relay.whyNot')}
        </p>
      )}
      {error !== undefined && (
        <p className="relay-failure" role="alert" data-testid="relay-error">
          <span title={error.detail ?? undefined}>{t('relay.failed', { reason })}</span>
          <button
            type="button"
            className="dismiss"
            onClick={onDismiss}
            aria-label={t('relay.dismiss', { name })}
          >
            ×
          </button>
        </p>
      )}
    </div>
  );
}
