import { useEffect, useRef, useState } from 'react';
import { countsByPriority, newlyRaised, PRIORITIES } from '../alarms';
import { useFormats } from '../i18n';
import type { Alarm, Priority } from '../types';

// A shape per priority besides its colour (ISA-101: never colour alone).
export const PRIORITY_ICON: Record<Priority, string> = {
  critical: '◆',
  high: '▲',
  medium: '■',
  low: '●',
};

const SOUNDED: readonly Priority[] = ['critical', 'high'];

function soundKey(user: string | null): string {
  return `factory-iot.alarm-sound.${user ?? 'anonymous'}`;
}

function beep(): void {
  try {
    const context = new AudioContext();
    const tone = context.createOscillator();
    tone.frequency.value = 880;
    tone.connect(context.destination);
    tone.start();
    tone.stop(context.currentTime + 0.25);
  } catch {
    // No audio device or blocked until the user interacts: the banner still shows it.
  }
}

interface Props {
  alarms: Record<string, Alarm>;
  nowMs: number;
  user: string | null;
  onOpen: () => void;
}

/** The count of unacknowledged alarms per priority, on every screen; a click opens the list. */
export function AlarmBanner({ alarms, nowMs, user, onOpen }: Props) {
  const { t } = useFormats();
  const nowS = nowMs / 1000;
  const counts = countsByPriority(alarms, nowS);
  const total = PRIORITIES.reduce((sum, p) => sum + counts[p], 0);
  const [sound, setSound] = useState(() => localStorage.getItem(soundKey(user)) === 'on');
  const previous = useRef(alarms);
  useEffect(() => {
    setSound(localStorage.getItem(soundKey(user)) === 'on');
  }, [user]);
  useEffect(() => {
    const raised = newlyRaised(previous.current, alarms, Date.now() / 1000, SOUNDED);
    previous.current = alarms;
    if (sound && raised.length > 0) beep();
  }, [alarms, sound]);
  const toggle = () => {
    const next = !sound;
    localStorage.setItem(soundKey(user), next ? 'on' : 'off');
    setSound(next);
  };
  return (
    <section
      className={`alarm-banner${total > 0 ? ' alarm-banner-active' : ''}`}
      data-testid="alarm-banner"
      aria-label={t('alarms.banner')}
    >
      <button type="button" className="alarm-counts" onClick={onOpen} title={t('alarms.open')}>
        {total === 0 && <span data-testid="alarm-none">{t('alarms.none')}</span>}
        {total > 0 &&
          PRIORITIES.filter((p) => counts[p] > 0).map((p) => (
            <span
              key={p}
              className={`alarm-count priority-${p}`}
              data-testid={`alarm-count-${p}`}
              data-count={counts[p]}
            >
              <span aria-hidden="true">{PRIORITY_ICON[p]}</span>{' '}
              {t('alarms.count', { priority: t(`alarms.priority.${p}`), count: counts[p] })}
            </span>
          ))}
      </button>
      <button
        type="button"
        className="link alarm-sound"
        aria-pressed={sound}
        title={t('alarms.soundTitle')}
        data-testid="alarm-sound"
        onClick={toggle}
      >
        {sound ? t('alarms.soundOn') : t('alarms.soundOff')}
      </button>
    </section>
  );
}
