// The Persian catalog is complete: every English key has a Persian text and vice versa, none
// empty, each with the same interpolation variables. Plural forms are per language
// (Intl.PluralRules), so a key is compared without its plural suffix.
import { describe, expect, it } from 'vitest';
import en from './en.json';
import fa from './fa.json';
import { LANGUAGES } from './locale';

type Catalog = { [key: string]: string | Catalog };

/** Every leaf as "a.b.c" → text. */
function flatten(catalog: Catalog, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(catalog)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (typeof value === 'string') out.set(path, value);
    else for (const [k, v] of flatten(value, path)) out.set(k, v);
  }
  return out;
}

const PLURAL = /_(zero|one|two|few|many|other)$/;
const variables = (text: string): string[] =>
  [...text.matchAll(/\{\{\s*([\w.]+)[^}]*\}\}/g)].map((m) => m[1] ?? '').sort();

/** Keys without plural suffixes, each with the union of its forms' variables. */
function shape(catalog: Catalog): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const [key, text] of flatten(catalog)) {
    const base = key.replace(PLURAL, '');
    const vars = out.get(base) ?? new Set<string>();
    for (const v of variables(text)) vars.add(v);
    out.set(base, vars);
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

const catalogs: Record<(typeof LANGUAGES)[number], Catalog> = { en, fa };

describe('message catalogs', () => {
  const english = shape(en);

  it.each(LANGUAGES)('%s has no empty text', (lang) => {
    const empty = [...flatten(catalogs[lang])].filter(([, text]) => text.trim() === '');
    expect(empty.map(([key]) => key)).toEqual([]);
  });

  it.each(LANGUAGES.filter((l) => l !== 'en'))('%s has exactly the English keys', (lang) => {
    const other = shape(catalogs[lang]);
    const missing = [...english.keys()].filter((k) => !other.has(k));
    const extra = [...other.keys()].filter((k) => !english.has(k));
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
  });

  it.each(LANGUAGES.filter((l) => l !== 'en'))(
    '%s uses the same interpolation variables',
    (lang) => {
      const other = shape(catalogs[lang]);
      const differ = [...english]
        .filter(([key, vars]) => JSON.stringify(other.get(key)) !== JSON.stringify(vars))
        .map(([key, vars]) => ({ key, en: vars, [lang]: other.get(key) }));
      expect(differ).toEqual([]);
    },
  );

  it('has every plural form Persian and English need', () => {
    // Both languages use "one" and "other" (Intl.PluralRules); a key with one form has both.
    for (const [lang, catalog] of Object.entries(catalogs)) {
      const keys = [...flatten(catalog).keys()];
      const plurals = keys.filter((k) => PLURAL.test(k)).map((k) => k.replace(PLURAL, ''));
      for (const base of new Set(plurals)) {
        expect(keys, `${lang}: ${base}`).toEqual(
          expect.arrayContaining([`${base}_one`, `${base}_other`]),
        );
      }
    }
  });
});
