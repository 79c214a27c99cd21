// English and Hebrew UI strings, the language switch, and locale-aware formatting.
// User data (titles, transcripts, file names, model output) is never translated; server states
// (progress codes, error codes, case statuses) are, from the message catalogue in strings.js.

import { STRINGS } from './strings.js';

const STORAGE_KEY = 'caseApp.lang';
const INTL_LOCALE = { en: 'en-IL', he: 'he-IL' }; // Israeli conventions (ILS, dates) in both languages
const listeners = new Set();
let current = initialLanguage();

function initialLanguage() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved in STRINGS) return saved;
  return (navigator.language || '').toLowerCase().startsWith('he') ? 'he' : 'en';
}

/** The UI language: 'en' or 'he'. */
export function language() {
  return current;
}

/** The BCP 47 locale for Intl formatting. */
export function intlLocale() {
  return INTL_LOCALE[current];
}

/**
 * The UI string `key` in the current language; `{name}` placeholders are filled from `vars`.
 * A missing Hebrew string falls back to English, a missing key shows the key (easy to spot).
 */
export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** True when the catalogue has `key` in the current language. */
export function has(key) {
  return STRINGS[current][key] !== undefined;
}

/**
 * The whole translated template `key` as DOM pieces: `{name}` placeholders are filled from `vars`,
 * each inserted value isolated in its own <bdi dir="auto"> (or given as a Node), so text of the
 * other direction cannot reorder the words of the sentence around it.
 * @returns {Array<string|Node>} pieces to append to an element.
 */
export function tNodes(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.split(/(\{\w+\})/).filter(Boolean).map((piece) => {
    const name = piece.match(/^\{(\w+)\}$/)?.[1];
    if (!name || !(name in vars)) return piece;
    const value = vars[name];
    if (value instanceof Node) return value;
    const bdi = document.createElement('bdi');
    bdi.dir = 'auto';
    bdi.textContent = String(value ?? '');
    return bdi;
  });
}

/** The plural form of `key` for `count`: looks up `key.one`, `key.two`, `key.other`... by CLDR rules. */
export function tn(key, count, vars = {}) {
  const form = new Intl.PluralRules(INTL_LOCALE[current]).select(count);
  const chosen = STRINGS[current][`${key}.${form}`] !== undefined ? `${key}.${form}` : `${key}.other`;
  return t(chosen, { count, ...vars });
}

/** Switch language: sets `lang` and `dir` on <html>, re-labels static text, tells listeners. */
export function setLanguage(lang) {
  if (!(lang in STRINGS)) return;
  current = lang;
  localStorage.setItem(STORAGE_KEY, lang);
  applyDocumentLanguage();
  for (const listener of listeners) listener(lang);
}

/** Call `listener(lang)` after every language switch. */
export function onLanguageChange(listener) {
  listeners.add(listener);
}

/** Apply the current language to <html> and to every element with data-i18n* attributes. */
export function applyDocumentLanguage() {
  const root = document.documentElement;
  root.lang = current;
  root.dir = current === 'he' ? 'rtl' : 'ltr';
  document.title = t('app.title');
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll('[data-i18n-placeholder]')) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of document.querySelectorAll('[data-i18n-label]')) {
    node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  }
}

/** An amount in shekels, e.g. "₪85,000" (English) or "‏85,000 ₪" (Hebrew). */
export function formatShekels(amount) {
  return new Intl.NumberFormat(intlLocale(), { style: 'currency', currency: 'ILS', maximumFractionDigits: 0 })
    .format(amount);
}

/** A timestamp from the server (ISO 8601) as a local date and time. */
export function formatDateTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

/** A duration in whole seconds as m:ss or h:mm:ss. */
export function formatDuration(totalSeconds) {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** A byte count as B/kB/MB/GB in the current locale (Intl units keep the order right in Hebrew). */
export function formatBytes(bytes) {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'];
  let value = Number(bytes) || 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return new Intl.NumberFormat(intlLocale(), {
    // Hebrew's short units are Latin ("kB"): the long ones are Hebrew words ("קילו-בייט").
    style: 'unit', unit: units[unit], unitDisplay: current === 'he' ? 'long' : 'short', maximumFractionDigits: unit ? 1 : 0,
  }).format(value);
}
