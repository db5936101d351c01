// Translations of the witness-facing pages are complete: every language file has exactly
// the keys of English, no empty string, the same {placeholders}; every key the join page
// uses (data-i18n, data-i18n-attr, t('…'), and the role/connection/quality/end families
// it builds at run time) exists. No browser or server needed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const WEB = join(import.meta.dirname, '..', '..', 'web');
const load = (lang) => JSON.parse(readFileSync(join(WEB, 'i18n', `${lang}.json`), 'utf8'));
const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const en = load('en');
const langs = readdirSync(join(WEB, 'i18n')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));

test('at least English, French and Spanish are provided', () => {
  for (const l of ['en', 'fr', 'es']) assert.ok(langs.includes(l), `${l}.json exists`);
});

for (const lang of langs) {
  test(`${lang}.json has every key, no empty text, the same placeholders`, () => {
    const d = load(lang);
    assert.deepEqual(Object.keys(d).sort(), Object.keys(en).sort());
    for (const [k, v] of Object.entries(d)) {
      assert.equal(typeof v, 'string', k);
      assert.ok(v.trim().length > 0, `${lang}:${k} is empty`);
      assert.deepEqual(placeholders(v), placeholders(en[k]), `${lang}:${k} placeholders`);
    }
  });
}

test('every key the join page uses exists in English', () => {
  const html = readFileSync(join(WEB, 'join.html'), 'utf8');
  const js = readFileSync(join(WEB, 'js', 'join.js'), 'utf8');
  const used = new Set();
  for (const m of html.matchAll(/data-i18n="([\w.]+)"/g)) used.add(m[1]);
  for (const m of html.matchAll(/data-i18n-attr="([^"]+)"/g)) {
    for (const pair of m[1].split(';')) used.add(pair.split(':')[1]);
  }
  for (const m of js.matchAll(/\bt\('([\w.]+)'/g)) used.add(m[1]);
  const roles = ['judge', 'witness', 'official', 'interpreter', 'prosecutor', 'defence', 'clerk'];
  for (const r of roles) used.add(`role.${r}`);
  for (const c of ['none', 'connecting', 'connected', 'reconnecting', 'failed']) used.add(`connection.${c}`);
  for (const q of ['good', 'fair', 'poor', 'unknown', 'connecting', 'reconnecting']) used.add(`quality.${q}`);
  const ends = [...js.matchAll(/^ {2}(\w+): \{ action: (null|'(\w+)') \},$/gm)];
  assert.ok(ends.length >= 8, 'the END table of join.js was found');
  for (const m of ends) {
    used.add(`end.${m[1]}.title`);
    used.add(`end.${m[1]}.text`);
    if (m[3]) used.add(`end.action.${m[3]}`);
  }
  const missing = [...used].filter((k) => !Object.hasOwn(en, k));
  assert.deepEqual(missing, []);
});
