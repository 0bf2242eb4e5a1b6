// A value that changes eases into place instead of jumping (the seed promised smooth
// updates). Movement only: a fade would dip the text's contrast below WCAG AA while it runs.
// Nothing moves for a user who asked for reduced motion.
import { type RefObject, useEffect, useRef } from 'react';

const KEYFRAMES: Keyframe[] = [{ transform: 'translateY(-0.2em)' }, { transform: 'none' }];
const TIMING: KeyframeAnimationOptions = { duration: 350, easing: 'ease-out' };

const reducedMotion = (): boolean =>
  typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;

/** Animates the element each time `value` changes (not when it first appears). */
export function useAnimateChange<T extends HTMLElement>(value: unknown): RefObject<T> {
  const ref = useRef<T>(null);
  const first = useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on purpose when value changes
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const el = ref.current;
    if (el !== null && typeof el.animate === 'function' && !reducedMotion()) {
      el.animate(KEYFRAMES, TIMING);
    }
  }, [value]);
  return ref;
}
