// Ages ("12 s ago") keep counting without new data. A plant screen shows hundreds of them:
// one clock for all, writing each element's text directly, costs a text comparison per
// element a second, where a clock prop redrew every card on screen every second.
import { type RefObject, useLayoutEffect, useRef } from 'react';

/** The text for the time now (browser clock, ms). */
export type TextAt = (nowMs: number) => string;

const TICK_MS = 1000;
const shown = new Map<HTMLElement, TextAt>();
let timer: ReturnType<typeof setInterval> | null = null;

function tick(): void {
  const now = Date.now();
  for (const [el, textAt] of shown) {
    const text = textAt(now);
    if (el.textContent !== text) el.textContent = text;
  }
}

/**
 * The element's text is `textAt(now)`, written now and again every second while it is on
 * screen. The element must have no React children (React would not know of the text).
 * Pass a memoised `textAt`: a new one is written at once.
 */
export function useTickingText<T extends HTMLElement>(textAt: TextAt): RefObject<T> {
  const ref = useRef<T>(null);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el === null) return;
    el.textContent = textAt(Date.now());
    shown.set(el, textAt);
    timer ??= setInterval(tick, TICK_MS);
    return () => {
      shown.delete(el);
      if (shown.size === 0 && timer !== null) {
        clearInterval(timer);
        timer = null;
      }
    };
  }, [textAt]);
  return ref;
}
