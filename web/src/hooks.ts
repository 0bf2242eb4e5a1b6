import { useEffect, useState, useSyncExternalStore } from 'react';
import type { LiveClient, Snapshot } from './client';

/**
 * The client's latest snapshot, drawn at most once per animation frame: a plant sends hundreds
 * of updates a second, and the screen cannot show more than one frame of them anyway. The
 * snapshot read is always the newest, so nothing is lost, only drawn together.
 */
export function useSnapshot(client: LiveClient): Snapshot {
  const [subscribe] = useState(() => (redraw: () => void) => {
    let frame: number | null = null;
    const unsubscribe = client.subscribe(() => {
      if (frame === null) {
        frame = requestAnimationFrame(() => {
          frame = null;
          redraw();
        });
      }
    });
    return () => {
      if (frame !== null) cancelAnimationFrame(frame);
      unsubscribe();
    };
  });
  return useSyncExternalStore(subscribe, client.getSnapshot);
}

/** The current time, re-read every `intervalMs`, so ages keep counting without new data. */
export function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
