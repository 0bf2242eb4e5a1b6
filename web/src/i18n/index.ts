// What the rest of the dashboard uses of i18n: components call useFormats(); main.tsx builds
// the store; pure text functions take a Formats (tests make one with formatsFor()).
export { createI18n, formatsFor } from './catalogs';
export {
  type Digits,
  type Formats,
  hasNativeDigits,
  isLanguage,
  LANGUAGE_NAMES,
  LANGUAGES,
  type Language,
} from './locale';
export { LocaleProvider, useFormats, useLocaleStore } from './react';
export { LocaleStore } from './store';
