// i18n.js — translations for the pages, in the six UN languages (Arabic right to left).
// Owns: loading /static/i18n/<lang>.json (English as the fallback for any missing key),
// the chosen language (hearing language, overridable by the user, remembered locally),
// and filling elements marked `data-i18n` / `data-i18n-attr`. Must never insert
// translated text as HTML (textContent only) and never fetch from another origin.

/** The six UN languages, each named in itself. */
export const LANGUAGES = {
  ar: 'العربية', zh: '中文', en: 'English', fr: 'Français', ru: 'Русский', es: 'Español',
};
/** Languages written right to left: the page gets `dir="rtl"` (CSS uses logical sides). */
const RTL = new Set(['ar']);
const STORE_KEY = 'sworn.lang';

let current = 'en';
let strings = {};
let fallback = {};

async function load(lang) {
  const res = await fetch(`/static/i18n/${lang}.json`, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`missing language ${lang}`);
  return res.json();
}

/** Pick the language: the user's saved choice, else the hearing's, else the browser's. */
export function pickLanguage(hearingLanguage) {
  const candidates = [];
  try {
    const saved = localStorage.getItem(STORE_KEY);
    if (saved) candidates.push(saved);
  } catch (_e) {
    // storage blocked: fine
  }
  if (typeof hearingLanguage === 'string') candidates.push(hearingLanguage);
  for (const l of navigator.languages || []) candidates.push(l);
  for (const c of candidates) {
    const base = String(c).toLowerCase().split(/[-_]/)[0];
    if (Object.hasOwn(LANGUAGES, base)) return base;
  }
  return 'en';
}

export function rememberLanguage(lang) {
  try {
    localStorage.setItem(STORE_KEY, lang);
  } catch (_e) {
    // storage blocked: the choice lasts for this page only
  }
}

/** Load a language (and English as fallback) and translate the document. */
export async function setLanguage(lang) {
  const want = Object.hasOwn(LANGUAGES, lang) ? lang : 'en';
  if (Object.keys(fallback).length === 0) fallback = await load('en');
  try {
    strings = want === 'en' ? fallback : await load(want);
    current = want;
  } catch (_e) {
    strings = fallback;
    current = 'en';
  }
  document.documentElement.lang = current;
  document.documentElement.dir = RTL.has(current) ? 'rtl' : 'ltr';
  applyTranslations(document);
  return current;
}

export function language() {
  return current;
}

/** The name of language `code` in the page's language ("français" on a French page),
 * for sentences; a language list shows each in its own name (`LANGUAGES`). */
export function languageName(code) {
  try {
    return new Intl.DisplayNames([current], { type: 'language' }).of(code) || LANGUAGES[code] || code;
  } catch {
    return LANGUAGES[code] || String(code);
  }
}

/**
 * The text of a catalogue entry: a string, or plural forms keyed by the categories of
 * `Intl.PluralRules` for `lang` (`zero`, `one`, `two`, `few`, `many`, `other`; `other`
 * always present), chosen by `vars.n`. Pure (exported for tests).
 */
export function pluralText(entry, lang, vars) {
  if (typeof entry === 'string') return entry;
  if (!entry || typeof entry !== 'object') return null;
  const n = vars ? Number(vars.n) : NaN;
  const category = Number.isFinite(n) ? new Intl.PluralRules(lang).select(n) : 'other';
  const text = Object.hasOwn(entry, category) ? entry[category] : entry.other;
  return typeof text === 'string' ? text : null;
}

/** A character of a right-to-left script (Hebrew, Arabic, Syriac, Thaana, N'Ko…). */
const RTL_CHAR = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/;

/** `v` in FIRST STRONG ISOLATE … POP DIRECTIONAL ISOLATE when it holds right-to-left
 * characters: for a name composed into a longer value ("سارة · Witness"), which would
 * otherwise take the name's direction as a whole. */
export function isolate(v) {
  const s = String(v);
  return RTL_CHAR.test(s) ? `\u2068${s}\u2069` : s;
}

/**
 * Replaces `{name}` placeholders with vars.name. With `isolate` true, each value is
 * wrapped in FIRST STRONG ISOLATE … POP DIRECTIONAL ISOLATE, so a name or number in
 * another script keeps its own direction inside right-to-left text ("John Smith (Jr.)"
 * in an Arabic sentence); with `'rtl-values'`, only values holding right-to-left
 * characters are (an Arabic name in an English sentence keeps the punctuation after it
 * in place). Pure (exported for tests).
 */
export function fill(s, vars, isolate = false) {
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, name) => {
    if (!Object.hasOwn(vars, name)) return m;
    const v = String(vars[name]);
    const wrap = isolate === true || (isolate === 'rtl-values' && RTL_CHAR.test(v));
    return wrap ? `\u2068${v}\u2069` : v;
  });
}

function entry(key, vars) {
  return pluralText(strings[key], current, vars) ?? pluralText(fallback[key], 'en', vars) ?? key;
}

/** True when the catalogues (the page's or English) have `key`. */
export function hasKey(key) {
  return Object.hasOwn(strings, key) || Object.hasOwn(fallback, key);
}

/** Translate a key for display; `{name}` placeholders are replaced by vars.name
 * (isolated on right-to-left pages, and right-to-left values on any page). */
export function t(key, vars) {
  return fill(entry(key, vars), vars, RTL.has(current) ? true : 'rtl-values');
}

/** Translate a key for a text the participant signs: the values as they are, with no
 * invisible direction marks in the signed bytes. */
export function tSigned(key, vars) {
  return fill(entry(key, vars), vars, false);
}

/** Fill every `[data-i18n]` (text) and `[data-i18n-attr="attr:key;attr:key"]` under root. */
export function applyTranslations(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

/** Staff pages: the saved or browser language, and the selector in the top bar. */
export async function initPageLanguage(onChange) {
  await setLanguage(pickLanguage(null));
  const select = document.querySelector('#lang-select');
  if (select) bindLanguageSelect(select, onChange);
}

/** Fill a <select> with the supported languages and switch on change. */
export function bindLanguageSelect(select, onChange) {
  select.replaceChildren();
  for (const [code, name] of Object.entries(LANGUAGES)) {
    const opt = document.createElement('option');
    opt.value = code;
    opt.textContent = name;
    opt.lang = code;
    select.append(opt);
  }
  select.value = current;
  select.addEventListener('change', async () => {
    rememberLanguage(select.value);
    await setLanguage(select.value);
    if (onChange) onChange(current);
  });
}
