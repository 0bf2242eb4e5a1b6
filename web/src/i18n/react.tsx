// How components get their words and formats: `const f = useFormats()`, then
// `f.t('gateway.relays')`, `f.number(v, 1)`, `f.dateTime(ts)`. Re-renders on a language or
// digits change. (react-i18next's useTranslation() works too and gives the same t.)
import { createContext, type ReactNode, useContext, useSyncExternalStore } from 'react';
import { I18nextProvider } from 'react-i18next';
import type { Formats } from './locale';
import type { LocaleStore } from './store';

const StoreContext = createContext<LocaleStore | null>(null);

export function LocaleProvider({ store, children }: { store: LocaleStore; children: ReactNode }) {
  return (
    <StoreContext.Provider value={store}>
      <I18nextProvider i18n={store.i18n}>{children}</I18nextProvider>
    </StoreContext.Provider>
  );
}

export function useLocaleStore(): LocaleStore {
  const store = useContext(StoreContext);
  if (store === null) throw new Error('useFormats() outside <LocaleProvider>');
  return store;
}

export function useFormats(): Formats {
  const store = useLocaleStore();
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}
