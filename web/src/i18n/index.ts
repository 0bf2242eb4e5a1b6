export { createI18n, formatsFor, resources } from './catalogs';
export {
  createFormats,
  type Digits,
  direction,
  type Formats,
  hasNativeDigits,
  intlLocale,
  isLanguage,
  LANGUAGE_NAMES,
  LANGUAGES,
  type Language,
  type LocaleSettings,
  languageOf,
} from './locale';
export { LocaleProvider, useFormats, useLocaleStore } from './react';
export { BROWSER_KEY, LocaleStore, parseSettings, userKey } from './store';
