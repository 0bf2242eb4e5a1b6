// The language and digits in use, remembered per user. Before anyone logs in, the browser's
// last choice (or its language) applies; once the bridge names the user (/api/auth/me), that
// user's own choice does, so two people sharing a tablet each keep theirs.
import type { i18n } from 'i18next';
import {
  createFormats,
  type Digits,
  type Formats,
  isLanguage,
  type Language,
  type LocaleSettings,
} from './locale';

/** The part of the Web Storage API used here (localStorage in the browser). */
export interface PreferenceStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** The last choice made in this browser, for the login page. */
export const BROWSER_KEY = 'factory-iot.locale';
/** The choice of one user. */
export const userKey = (user: string): string => `factory-iot.locale.user.${user}`;

/** What a stored value says; anything unreadable or unknown is left out, never thrown. */
export function parseSettings(raw: string | null): Partial<LocaleSettings> {
  let v: unknown;
  try {
    v = raw === null ? null : JSON.parse(raw);
  } catch {
    return {};
  }
  if (typeof v !== 'object' || v === null) return {};
  const { language, digits } = v as Record<string, unknown>;
  return {
    ...(isLanguage(language) ? { language } : {}),
    ...(digits === 'native' || digits === 'latin' ? { digits } : {}),
  };
}

export class LocaleStore {
  private readonly listeners = new Set<() => void>();
  private user: string | null = null;
  private formats: Formats;

  /** `i18n` has already picked its language (detected or given). */
  constructor(
    readonly i18n: i18n,
    private readonly storage: PreferenceStorage | null,
  ) {
    const stored = this.read(BROWSER_KEY);
    const detected = this.i18n.resolvedLanguage;
    const language = stored.language ?? (isLanguage(detected) ? detected : 'en');
    this.formats = this.build({ language, digits: stored.digits ?? 'native' });
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): Formats => this.formats;

  setLanguage(language: Language): void {
    this.change({ language, digits: this.formats.digits });
  }

  setDigits(digits: Digits): void {
    this.change({ language: this.formats.language, digits });
  }

  /** Who is logged in (null: nobody). A user's own stored choice replaces the current one. */
  setUser(user: string | null): void {
    if (user === this.user) return;
    this.user = user;
    if (user === null) return;
    const own = this.read(userKey(user));
    if (own.language === undefined && own.digits === undefined) return;
    this.change({
      language: own.language ?? this.formats.language,
      digits: own.digits ?? this.formats.digits,
    });
  }

  private change(settings: LocaleSettings): void {
    const value = JSON.stringify(settings);
    this.write(BROWSER_KEY, value);
    if (this.user !== null) this.write(userKey(this.user), value);
    if (settings.language === this.formats.language && settings.digits === this.formats.digits)
      return;
    this.formats = this.build(settings);
    for (const listener of this.listeners) listener();
  }

  private build(settings: LocaleSettings): Formats {
    // The catalogs are bundled: changeLanguage completes before it returns.
    if (this.i18n.language !== settings.language) void this.i18n.changeLanguage(settings.language);
    return createFormats(this.i18n.getFixedT(settings.language), settings);
  }

  private read(key: string): Partial<LocaleSettings> {
    try {
      return parseSettings(this.storage?.getItem(key) ?? null);
    } catch {
      return {}; // storage disabled (private mode, policy): nothing remembered
    }
  }

  private write(key: string, value: string): void {
    try {
      this.storage?.setItem(key, value);
    } catch {
      // storage full or disabled: the choice holds for this page only
    }
  }
}
