/**
 * Locale lookup: an element speaks the language of its nearest `lang` attribute (its own,
 * then its ancestors', then the document's), falling back to the browser's and then English.
 */
import en from './en.js';
import es from './es.js';

export const locales = { en, es };

/** Returns the strings for a BCP 47 tag such as "es-MX"; unknown languages get English. */
export function stringsFor(tag) {
  const base = String(tag || '').toLowerCase().split('-')[0];
  return locales[base] || en;
}

/** Returns the strings for an element, reading `lang` up the tree (across shadow roots). */
export function stringsForElement(element) {
  return stringsFor(langOf(element));
}

/**
 * The BCP 47 tag an element speaks: its nearest `lang` attribute (its own, then its
 * ancestors', across shadow roots), else the browser's language.
 */
export function langOf(element) {
  let node = element;
  while (node) {
    if (node.getAttribute && node.getAttribute('lang')) return node.getAttribute('lang');
    node = node.parentNode || node.host;
  }
  return typeof navigator !== 'undefined' ? navigator.language : 'en';
}
