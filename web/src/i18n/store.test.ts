import { describe, expect, it } from 'vitest';
import { createI18n } from './catalogs';
import { BROWSER_KEY, LocaleStore, parseSettings, userKey } from './store';

/** localStorage's behaviour, in memory. */
class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

describe('parseSettings', () => {
  it('keeps what it knows and drops the rest, never throws', () => {
    expect(parseSettings('{"language":"fa","digits":"latin"}')).toEqual({
      language: 'fa',
      digits: 'latin',
    });
    expect(parseSettings('{"language":"de","digits":"roman"}')).toEqual({});
    expect(parseSettings('not json')).toEqual({});
    expect(parseSettings(null)).toEqual({});
    expect(parseSettings('"fa"')).toEqual({});
  });
});

describe('LocaleStore', () => {
  it('starts in the detected language, with the language own digits', () => {
    const store = new LocaleStore(createI18n('fa'), new MemoryStorage());
    expect(store.getSnapshot()).toMatchObject({ language: 'fa', digits: 'native', dir: 'rtl' });
    expect(store.getSnapshot().t('gateway.relays')).toBe('رله‌ها');
  });

  it('prefers the last choice made in this browser over the detected language', () => {
    const storage = new MemoryStorage();
    storage.setItem(BROWSER_KEY, '{"language":"en","digits":"native"}');
    const store = new LocaleStore(createI18n('fa'), storage);
    expect(store.getSnapshot().language).toBe('en');
  });

  it('remembers each user choice and brings it back when that user logs in', () => {
    const storage = new MemoryStorage();
    const store = new LocaleStore(createI18n('en'), storage);
    let changes = 0;
    store.subscribe(() => changes++);

    store.setUser('maryam');
    store.setLanguage('fa');
    store.setDigits('latin');
    expect(parseSettings(storage.getItem(userKey('maryam')))).toEqual({
      language: 'fa',
      digits: 'latin',
    });
    expect(store.getSnapshot().number(12.5, 1)).toBe('12.5');

    store.setUser(null);
    store.setUser('bob');
    store.setLanguage('en');
    expect(store.getSnapshot().t('gateway.relays')).toBe('Relays');

    store.setUser(null);
    store.setUser('maryam');
    expect(store.getSnapshot()).toMatchObject({ language: 'fa', digits: 'latin' });
    expect(store.getSnapshot().t('gateway.relays')).toBe('رله‌ها');
    expect(changes).toBe(4);
  });

  it('works on when the browser refuses storage', () => {
    const refusing = {
      getItem: (): string | null => {
        throw new Error('SecurityError');
      },
      setItem: (): void => {
        throw new Error('QuotaExceededError');
      },
    };
    const store = new LocaleStore(createI18n('en'), refusing);
    store.setUser('alice');
    store.setLanguage('fa');
    expect(store.getSnapshot().language).toBe('fa');
  });
});
