// The dashboard's languages and how each writes numbers and times. Pure: Intl does the work,
// so digits, separators and the calendar follow the locale (Persian: Solar Hijri calendar,
// Persian digits unless the user switches to Latin ones).
import type { TFunction } from 'i18next';

export const LANGUAGES = ['en', 'fa'] as const;
export type Language = (typeof LANGUAGES)[number];

/** `native`: the language's own digits (Persian ۰–۹ for fa); `latin`: 0–9 everywhere. */
export type Digits = 'native' | 'latin';

export interface LocaleSettings {
  language: Language;
  digits: Digits;
}

/** Each language's name in itself, for the language switch. */
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', fa: 'فارسی' };

export const isLanguage = (v: unknown): v is Language =>
  typeof v === 'string' && (LANGUAGES as readonly string[]).includes(v);

export const direction = (language: Language): 'ltr' | 'rtl' => (language === 'fa' ? 'rtl' : 'ltr');

/** Only Persian has digits of its own to switch away from. */
export const hasNativeDigits = (language: Language): boolean => language === 'fa';

/** The Intl locale: a BCP 47 tag with the calendar and numbering system spelt out. */
export function intlLocale({ language, digits }: LocaleSettings): string {
  if (language === 'fa') return `fa-IR-u-ca-persian-nu-${digits === 'latin' ? 'latn' : 'arabext'}`;
  return 'en-US';
}

export interface Formats {
  readonly t: TFunction;
  readonly language: Language;
  readonly digits: Digits;
  readonly dir: 'ltr' | 'rtl';
  /** The Intl locale every number and time on screen goes through. */
  readonly locale: string;
  /** A number with exactly `fractionDigits` decimals ("21.4", "۲۱٫۴"), never grouped. */
  number(value: number, fractionDigits?: number): string;
  /** An absolute time, readable on its own: "2026-12-01 02:31:05 UTC", "۱۰ آذر ۱۴۰۵ ساعت ۰۲:۳۱:۰۵ (UTC)". */
  dateTime(unixS: number): string;
}

export function createFormats(t: TFunction, settings: LocaleSettings): Formats {
  const locale = intlLocale(settings);
  const numberFormats = new Map<number, Intl.NumberFormat>();
  const numberFormat = (digits: number): Intl.NumberFormat => {
    let nf = numberFormats.get(digits);
    if (nf === undefined) {
      nf = new Intl.NumberFormat(locale, {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
        useGrouping: false,
      });
      numberFormats.set(digits, nf);
    }
    return nf;
  };
  // English keeps the ISO form the bridge's own messages and logs use; Persian gets its
  // calendar, month names and digits. Both say UTC, so a time is never ambiguous.
  const persianTime =
    settings.language === 'fa'
      ? new Intl.DateTimeFormat(locale, {
          year: 'numeric',
          month: 'long',
          day: 'numeric',
          hour: '2-digit',
          minute: '2-digit',
          second: '2-digit',
          hourCycle: 'h23',
          timeZone: 'UTC',
          timeZoneName: 'short',
        })
      : null;
  return {
    t,
    language: settings.language,
    digits: settings.digits,
    dir: direction(settings.language),
    locale,
    number: (value, fractionDigits = 0) => numberFormat(fractionDigits).format(value),
    dateTime: (unixS) => {
      if (!Number.isFinite(unixS)) return '—';
      const date = new Date(unixS * 1000);
      if (persianTime !== null) return persianTime.format(date);
      return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
    },
  };
}
