// The message catalogs and the i18next instance that serves them. Every user-visible string
// lives in en.json with its Persian twin in fa.json (same keys; catalogs.test.ts checks).
import i18next, { type i18n, type LanguageDetectorModule } from 'i18next';
import en from './en.json';
import fa from './fa.json';
import {
  createFormats,
  type Formats,
  LANGUAGES,
  type Language,
  type LocaleSettings,
} from './locale';

export const resources = { en: { translation: en }, fa: { translation: fa } } as const;

/**
 * A ready i18next instance (the catalogs are bundled, so it is ready on return). Without a
 * `language`, `detector` picks one (the browser's); English when nothing matches.
 */
export function createI18n(language?: Language, detector?: LanguageDetectorModule): i18n {
  const instance = i18next.createInstance();
  if (detector !== undefined) instance.use(detector);
  void instance.init({
    resources,
    ...(language === undefined ? {} : { lng: language }),
    fallbackLng: 'en',
    supportedLngs: [...LANGUAGES],
    load: 'languageOnly',
    nonExplicitSupportedLngs: true,
    // React escapes what it renders; escaping here too would show "&amp;" in names.
    interpolation: { escapeValue: false },
    initAsync: false,
    returnNull: false,
  });
  return instance;
}

/** Words and formats for fixed settings, outside React (tests, one-off text). */
export function formatsFor(settings: LocaleSettings): Formats {
  const instance = createI18n(settings.language);
  return createFormats(instance.getFixedT(settings.language), settings);
}
