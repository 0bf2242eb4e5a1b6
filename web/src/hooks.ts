import { useEffect, useState, useSyncExternalStore } from 'react';
import type { LiveClient, Snapshot } from './client';

export function useSnapshot(client: LiveClient): Snapshot {
  return useSyncExternalStore(client.subscribe, client.getSnapshot);
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
