// Every locale has English's words: a key missing in one language would show nothing (or
// "undefined") to a person reading that language.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { locales } from '../src/locales/index.js';

/** Every key path of a strings object ("client.refused.default"); arrays and functions are leaves. */
function keys(strings, prefix = '') {
  return Object.entries(strings).flatMap(([key, value]) =>
    value && typeof value === 'object' && !Array.isArray(value) ? keys(value, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

test('every locale has the same keys as English, of the same kind', () => {
  const english = keys(locales.en).sort();
  const kind = (strings, path) => typeof path.split('.').reduce((o, k) => o[k], strings);
  for (const [lang, strings] of Object.entries(locales)) {
    assert.deepEqual(keys(strings).sort(), english, lang);
    for (const path of english) assert.equal(kind(strings, path), kind(locales.en, path), `${lang}: ${path}`);
  }
});
