// Which gateway panels are near the viewport, so that a plant of thousands of devices draws
// only what can be seen (and the rest when it scrolls near). One IntersectionObserver for all.
import { useEffect, useState } from 'react';

/** How far outside the viewport a panel still counts as near: about a screen either way. */
const MARGIN = '100% 0px';

export function useNearViewport(): {
  near: ReadonlySet<string>;
  /** The ref callback for the panel `id` (the same function every time for an id). */
  refFor: (id: string) => (el: HTMLElement | null) => void;
} {
  const [near, setNear] = useState<ReadonlySet<string>>(() => new Set());
  const [observer] = useState(() =>
    typeof IntersectionObserver === 'undefined'
      ? null
      : new IntersectionObserver(
          (entries) =>
            setNear((held) => {
              const next = new Set(held);
              for (const e of entries) {
                const id = (e.target as HTMLElement).dataset.nearId;
                if (id === undefined) continue;
                if (e.isIntersecting) next.add(id);
                else next.delete(id);
              }
              const same = next.size === held.size && [...next].every((id) => held.has(id));
              return same ? held : next;
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
  return { near: observer === null ? everything : near, refFor };
}

// Without IntersectionObserver (never in a current browser), everything is near.
const everything: ReadonlySet<string> = { has: () => true } as unknown as ReadonlySet<string>;
