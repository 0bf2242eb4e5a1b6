import { type Formats, useFormats } from '../i18n';
import type { Alarm } from '../types';
import { PRIORITY_ICON } from './AlarmBanner';

/** An alarm mark's tooltip: what the alarm says and when it was raised (absolute time). */
export function alarmMarkTitle(f: Formats, alarm: Alarm): string {
  const raised = f.t('alarms.raisedAt', { at: f.dateTime(alarm.raised ?? alarm.since) });
  return alarm.message ? `${alarm.message} · ${raised}` : raised;
}

/** A relay's most urgent active alarm (it did not follow, or its command failed): the
 * priority's shape and words, never colour alone (ISA-101), its time on hover. */
export function RelayAlarmMark({ alarm }: { alarm: Alarm }) {
  const f = useFormats();
  const { t } = f;
  const condition =
    alarm.condition === 'readback_mismatch' || alarm.condition === 'command_failed'
      ? t(`alarms.relayCondition.${alarm.condition}`)
      : alarm.condition;
  return (
    <p
      className={`relay-alarm-mark priority-${alarm.priority}`}
      data-testid="alarm-mark"
      title={alarmMarkTitle(f, alarm)}
    >
      <span aria-hidden="true">{PRIORITY_ICON[alarm.priority]}</span>{' '}
      {t('alarms.mark', { priority: t(`alarms.priority.${alarm.priority}`), condition })}
    </p>
  );
}
