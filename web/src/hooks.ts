import { useEffect, useState, useSyncExternalStore } from 'react';
import type { LiveClient, Snapshot } from './client';

// About one frame at 60 Hz.
const FRAME_MS = 16;

/**
 * The client's latest snapshot, drawn at most about once per animation frame: a plant sends
 * hundreds of updates a second, and the screen cannot show more than one frame of them. An
 * update after a quiet spell (an operator's click, a single reading) is drawn at once; the
 * ones that follow within the frame are drawn together at the next. The snapshot read is
 * always the newest, so nothing is lost, only drawn together.
 */
export function useSnapshot(client: LiveClient): Snapshot {
  const [subscribe] = useState(() => (redraw: () => void) => {
    let frame: number | null = null;
    let drawnAt = Number.NEGATIVE_INFINITY;
    const unsubscribe = client.subscribe(() => {
      if (frame !== null) return;
      const now = performance.now();
      if (now - drawnAt >= FRAME_MS) {
        drawnAt = now;
        redraw();
        return;
      }
      frame = requestAnimationFrame(() => {
        frame = null;
        drawnAt = performance.now();
        redraw();
      });
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
