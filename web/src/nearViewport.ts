// Which gateway panels are near the viewport, so that a plant of thousands of devices draws
// only what can be seen (and the rest when it scrolls near). One IntersectionObserver for all.
import { useEffect, useMemo, useState } from 'react';

/** How far outside the viewport a panel still counts as near: about a screen either way. */
const MARGIN = '100% 0px';

/**
 * `first`: the panels taken as near until the observer has reported (it does after the first
 * layout): the first screen is drawn in the first render, not one render later.
 */
export function useNearViewport(first: readonly string[]): {
  near: ReadonlySet<string>;
  /** The ref callback for the panel `id` (the same function every time for an id). */
  refFor: (id: string) => (el: HTMLElement | null) => void;
} {
  const [near, setNear] = useState<ReadonlySet<string> | null>(null);
  const [observer] = useState(() =>
    typeof IntersectionObserver === 'undefined'
      ? null
      : new IntersectionObserver(
          (entries) =>
            setNear((reported) => {
              const held = reported ?? new Set<string>();
              const next = new Set(held);
              for (const e of entries) {
                const id = (e.target as HTMLElement).dataset.nearId;
                if (id === undefined) continue;
                if (e.isIntersecting) next.add(id);
                else next.delete(id);
              }
              const same = next.size === held.size && [...next].every((id) => held.has(id));
              return same && reported !== null ? held : next;
            }),
          { rootMargin: MARGIN },
        ),
  );
  useEffect(() => () => observer?.disconnect(), [observer]);
  const [refFor] = useState(() => {
    const watched = new Map<string, HTMLElement>();
    const refs = new Map<string, (el: HTMLElement | null) => void>();
    const observe = (id: string, el: HTMLElement | null) => {
      const old = watched.get(id);
      if (old === el) return;
      if (old !== undefined) observer?.unobserve(old);
      watched.delete(id);
      if (el === null) return;
      el.dataset.nearId = id;
      watched.set(id, el);
      observer?.observe(el);
    };
    return (id: string) => {
      let ref = refs.get(id);
      if (ref === undefined) {
        ref = (el: HTMLElement | null) => observe(id, el);
        refs.set(id, ref);
      }
      return ref;
    };
  });
  const guess = useMemo(() => new Set(first), [first]);
  return { near: observer === null ? everything : (near ?? guess), refFor };
}

// Without IntersectionObserver (never in a current browser), everything is near.
const everything: ReadonlySet<string> = { has: () => true } as unknown as ReadonlySet<string>;
