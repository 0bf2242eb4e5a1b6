import { useId } from 'react';
import {
  type Digits,
  hasNativeDigits,
  isLanguage,
  LANGUAGE_NAMES,
  LANGUAGES,
  useFormats,
  useLocaleStore,
} from '../i18n';

/** The header's language and digits choice; the store remembers it for the logged-in user. */
export function LocaleSwitch() {
  const store = useLocaleStore();
  const { t, language, digits } = useFormats();
  const id = useId();
  return (
    <div className="locale-switch">
      <label htmlFor={`${id}-language`} className="sr-only">
        {t('settings.language')}
      </label>
      <select
        id={`${id}-language`}
        data-testid="language"
        value={language}
        onChange={(e) => {
          if (isLanguage(e.target.value)) store.setLanguage(e.target.value);
        }}
      >
        {LANGUAGES.map((lang) => (
          // Each name in its own language and direction, so anyone can find theirs.
          <option key={lang} value={lang} lang={lang}>
            {LANGUAGE_NAMES[lang]}
          </option>
        ))}
      </select>
      {hasNativeDigits(language) && (
        <>
          <label htmlFor={`${id}-digits`} className="sr-only">
            {t('settings.digits')}
          </label>
          <select
            id={`${id}-digits`}
            data-testid="digits"
            value={digits}
            onChange={(e) => store.setDigits(e.target.value as Digits)}
          >
            <option value="native">{t('settings.digitsNative')}</option>
            <option value="latin">{t('settings.digitsLatin')}</option>
          </select>
        </>
      )}
    </div>
  );
}
