// Translations are complete: every language file has exactly the keys of English, no
// empty string, the same {placeholders}; every key the pages use (data-i18n,
// data-i18n-attr, t('…'), and the families built at run time from protocol values)
// exists. No browser or server needed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const WEB = join(import.meta.dirname, '..', '..', 'web');
const load = (lang) => JSON.parse(readFileSync(join(WEB, 'i18n', `${lang}.json`), 'utf8'));
const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const en = load('en');
const langs = readdirSync(join(WEB, 'i18n')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));

test('the six UN languages are provided, and the pages offer exactly those', () => {
  const un = ['ar', 'en', 'es', 'fr', 'ru', 'zh'];
  assert.deepEqual([...langs].sort(), un);
  const i18n = readFileSync(join(WEB, 'js', 'i18n.js'), 'utf8');
  const offered = i18n.match(/export const LANGUAGES = \{([^}]*)\}/)[1].match(/\b([a-z]{2}):/g).map((m) => m.slice(0, 2)).sort();
  assert.deepEqual(offered, un);
});

/** The forms of an entry: a string, or plural forms by Intl.PluralRules category. */
const CATEGORIES = new Set(['zero', 'one', 'two', 'few', 'many', 'other']);
function forms(lang, k, v) {
  if (typeof v === 'string') return [v];
  assert.ok(v && typeof v === 'object' && typeof v.other === 'string', `${lang}:${k} is a string or plural forms with "other"`);
  const used = new Set(new Intl.PluralRules(lang).resolvedOptions().pluralCategories);
  for (const c of Object.keys(v)) {
    assert.ok(CATEGORIES.has(c), `${lang}:${k}: ${c} is not a plural category`);
    assert.ok(used.has(c), `${lang}:${k}: ${lang} has no ${c} form`);
  }
  return Object.values(v);
}

for (const lang of langs) {
  test(`${lang}.json has every key, no empty text, the same placeholders`, () => {
    const d = load(lang);
    assert.deepEqual(Object.keys(d).sort(), Object.keys(en).sort());
    for (const [k, v] of Object.entries(d)) {
      const all = new Set(forms('en', k, en[k]).flatMap(placeholders));
      for (const f of forms(lang, k, v)) {
        assert.equal(typeof f, 'string', k);
        assert.ok(f.trim().length > 0, `${lang}:${k} is empty`);
        // Plural forms may leave {n} out ("one hearing"), never bring a new one.
        if (typeof v === 'string' && typeof en[k] === 'string') assert.deepEqual(placeholders(f), placeholders(en[k]), `${lang}:${k} placeholders`);
        else for (const p of placeholders(f)) assert.ok(all.has(p), `${lang}:${k}: {${p}}`);
      }
    }
  });
}

test('no catalogue leaves a text in English, but for words the languages share', () => {
  // Same word in both languages (checked by a reader of each), or a code-like value.
  const SAME = {
    fr: ['room.people_title', 'record.form_affirmation', 'rights.kind_objection'],
    es: ['verify.verdict_error', 'verify.error', 'verify.sum_bundle_value'],
  };
  for (const lang of langs.filter((l) => l !== 'en')) {
    const d = load(lang);
    const same = Object.keys(en).filter((k) => JSON.stringify(d[k]) === JSON.stringify(en[k]));
    assert.deepEqual(same, SAME[lang] || [], `${lang}: texts left in English`);
  }
});

test('names and numbers keep their own direction in right-to-left text, never in signed text', async () => {
  const { fill } = await import('../../web/js/i18n.js');
  const s = 'وقّع {name} البيان رقم {n}.';
  assert.equal(fill(s, { name: 'John Smith (Jr.)', n: 12 }, true), 'وقّع \u2068John Smith (Jr.)\u2069 البيان رقم \u206812\u2069.');
  assert.equal(fill(s, { name: 'John Smith (Jr.)', n: 12 }, false), 'وقّع John Smith (Jr.) البيان رقم 12.');
  assert.equal(fill('{missing} stays', {}, true), '{missing} stays');
  // On a left-to-right page, an Arabic name is isolated (the colon after it stays after
  // it), a Latin or Chinese one is left as it is.
  const en = '{who}: original recording';
  assert.equal(fill(en, { who: 'سارة الأحمد · Witness' }, 'rtl-values'), '\u2068سارة الأحمد · Witness\u2069: original recording');
  assert.equal(fill(en, { who: '王小明 · Interpreter' }, 'rtl-values'), '王小明 · Interpreter: original recording');
  // The signed texts are built with tSigned (no invisible marks in signed bytes).
  const read = (f) => readFileSync(join(WEB, 'js', f), 'utf8');
  for (const key of ['attest.closing_text', 'attest.cosign_text', 'identity.statement', 'record.identity_confirm_statement', 'minutes.statement']) {
    const js = ['join.js', 'hearing.js', 'join-evidence.js', 'hearing-identity.js', 'hearing-record.js'].map(read).join('\n');
    assert.ok(js.includes(`tSigned('${key}'`), `${key} is signed as tSigned builds it`);
    assert.ok(!js.includes(`t('${key}'`), `${key} never built with t()`);
  }
});

test('plural forms follow Intl.PluralRules of the page language', async () => {
  const { pluralText } = await import('../../web/js/i18n.js');
  const ru = { one: '{n} заседание', few: '{n} заседания', many: '{n} заседаний', other: '{n} заседания' };
  assert.deepEqual([1, 2, 5, 21, 1.5].map((n) => pluralText(ru, 'ru', { n })), [ru.one, ru.few, ru.many, ru.one, ru.other]);
  const ar = { zero: 'لا توجد جلسات', one: 'جلسة واحدة', two: 'جلستان', few: '{n} جلسات', many: '{n} جلسة', other: '{n} جلسة' };
  assert.deepEqual([0, 1, 2, 3, 11, 100].map((n) => pluralText(ar, 'ar', { n })), [ar.zero, ar.one, ar.two, ar.few, ar.many, ar.other]);
  assert.equal(pluralText({ one: 'one', other: 'many' }, 'fr', { n: 0 }), 'one', 'French counts 0 as singular');
  assert.equal(pluralText({ one: 'one', other: 'many' }, 'en', { n: 0 }), 'many');
  assert.equal(pluralText({ one: 'one', other: 'many' }, 'en'), 'many', 'no count: other');
  assert.equal(pluralText('plain', 'en', { n: 1 }), 'plain');
  assert.equal(pluralText(undefined, 'en', {}), null);
});

test('every key the pages use exists in English', () => {
  const read = (...p) => readFileSync(join(WEB, ...p), 'utf8');
  // The console, hearing room and join pages with their modules (other pages bring their own checks).
  const htmls = ['index', 'signin', 'setup', 'console', 'hearing', 'join', 'portal', 'portal-hearing', 'verify'].map((f) => read(`${f}.html`));
  const scripts = ['api', 'call', 'console', 'dom', 'hearing', 'i18n', 'join', 'keys', 'media', 'peer', 'people',
    'quality', 'setup', 'signalling', 'signin', 'video-grid', 'rights', 'grants', 'portal', 'portal-hearing', 'court-controls',
    'consult', 'exhibit', 'join-evidence', 'hearing-identity', 'hearing-record', 'device-check', 'request'].map((f) => read('js', `${f}.js`));
  const used = new Set();
  for (const html of htmls) {
    for (const m of html.matchAll(/data-i18n="([\w.]+)"/g)) used.add(m[1]);
    for (const m of html.matchAll(/data-i18n-attr="([^"]+)"/g)) {
      for (const pair of m[1].split(';')) used.add(pair.split(':')[1]);
    }
  }
  for (const js of scripts) for (const m of js.matchAll(/\bt\('([\w.]+)'/g)) used.add(m[1]);
  // Keys built at run time from protocol values (docs/protocol.md).
  const family = (prefix, values) => values.forEach((v) => used.add(`${prefix}${v}`));
  family('role.', ['judge', 'witness', 'official', 'interpreter', 'prosecutor', 'defence', 'clerk', 'counsel']);
  family('rights.', ['claim_title', 'claim_hint', 'claim_submit', 'object_title', 'object_hint', 'object_submit',
    'explained_done', 'claimed', 'objected', 'ruled_done', 'kind_privilege', 'kind_objection', 'ruled_upheld', 'ruled_overruled']);
  family('connection.', ['none', 'connecting', 'connected', 'reconnecting', 'failed']);
  family('presence.', ['absent', 'lobby', 'admitted', 'denied', 'removed']);
  family('invite.', ['active', 'revoked', 'expired']);
  family('state.', ['scheduled', 'open', 'closed']);
  family('grants.state_', ['active', 'expired', 'revoked']);
  family('portal.check_', ['pass', 'fail', 'skip']);
  family('quality.', ['good', 'fair', 'poor', 'unknown', 'connecting', 'reconnecting']);
  family('room.quality_', ['good', 'fair', 'poor']);
  family('room.done_', ['admit', 'deny', 'mute', 'unmute', 'remove', 'revoke', 'invite']);
  family('error.', ['bad_request', 'not_found', 'unauthorized', 'forbidden', 'csrf', 'conflict', 'too_large',
    'invite_invalid', 'invite_expired', 'invite_revoked', 'rate_limited', 'internal', 'network']);
  const js = read('js', 'join.js');
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
