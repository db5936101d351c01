// Every witness in their own language (#14 points 2-4): the join page in each of the six
// UN languages shows every text from that language's catalogue (nothing falls back to
// English); Arabic is laid out right to left. A witness the court invites in Arabic (to
// a hearing in English) gets the page in Arabic, mirrored, and the oath they are given,
// and sign, is the Arabic text with its perjury warning; the log and the minutes say so. The staff pages (sign-in, console, hearing
// room, portal list and hearing, verifier) use the same catalogues: walked in all six
// languages, every marked text is its catalogue's and no English is left.
// Screenshots: test-artifacts/lang-*.png.
//
// Environment: SWORN_BASE_URL, SWORN_JUDGE_USER, SWORN_JUDGE_PASS, SWORN_ARTIFACTS.
// Loopback-only network namespace (scripts/test).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE, T, invite, chromiumForFile, newContextPage, openHearingByApi, administerOath, minutesInPortal, revokeGrants, hearingLog, waitLog } from './support.mjs';

const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const WEB = join(import.meta.dirname, '..', '..', 'web');
const catalogue = (lang) => JSON.parse(readFileSync(join(WEB, 'i18n', `${lang}.json`), 'utf8'));
const PROS = process.env.SWORN_PROSECUTOR_USER || 'prosecutor';
const PROS_PASS = process.env.SWORN_PROSECUTOR_PASS || '';
const UN = ['ar', 'zh', 'en', 'fr', 'ru', 'es'];
const chromium = chromiumForFile(ARTIFACTS);
const problems = [];

const page = (name, viewport = { width: 1280, height: 900 }) =>
  newContextPage(chromium.browser, name, { origin: BASE, problems, contextOptions: { viewport }, timeout: T });

/** Every `data-i18n` text and `data-i18n-attr` attribute on the page, with its key. */
function shownTexts(p) {
  return p.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('[data-i18n]')) out.push([el.dataset.i18n, el.textContent]);
    for (const el of document.querySelectorAll('[data-i18n-attr]')) {
      for (const pair of el.dataset.i18nAttr.split(';')) {
        const [attr, key] = pair.split(':').map((s) => s.trim());
        out.push([key, el.getAttribute(attr)]);
      }
    }
    return out;
  });
}

/** Walks `p` through the six languages with its language selector: every marked text
 * is that language's catalogue text (plural entries: their `other` form; i18n.test.mjs
 * checks that no catalogue leaves a text in English), and only Arabic is right to left. */
async function walkLanguages(p, name) {
  const text = (v) => (typeof v === 'string' ? v : v.other);
  for (const lang of UN) {
    await p.selectOption('#lang-select', lang);
    await p.waitForFunction((l) => document.documentElement.lang === l, lang);
    const cat = catalogue(lang);
    const shown = await shownTexts(p);
    assert.ok(shown.length > 5, `${name} ${lang}: ${shown.length} texts on the page`);
    const wrong = [];
    for (const [key, got] of shown) {
      assert.ok(Object.hasOwn(cat, key), `${name} ${lang}: no ${key} in the catalogue`);
      if (got !== text(cat[key])) wrong.push(`${key}: ${got}`);
    }
    assert.deepEqual(wrong, [], `${name} ${lang}: texts not from the ${lang} catalogue`);
    // A state shown by the page (the hearing room's connection badge, connected before
    // the walk) is re-translated, not reset to its initial text, when the language changes.
    const badge = await p.evaluate(() => document.querySelector('#my-connection')?.textContent);
    if (badge !== undefined) assert.notEqual(badge, cat['room.not_connected'], `${name} ${lang}: connection badge reset`);
    const dir = await p.evaluate(() => document.documentElement.dir);
    assert.equal(dir, lang === 'ar' ? 'rtl' : 'ltr', `${name} ${lang}: direction`);
    await p.screenshot({ path: join(ARTIFACTS, `lang-${name}-${lang}.png`), fullPage: true });
  }
  await p.selectOption('#lang-select', 'en');
}

test('the join page in the six UN languages: every text from its catalogue, Arabic right to left', async () => {
  const judge = await page('judge');
  await openHearingByApi(judge, 'LANG', 'MLA-2026-0606');
  const link = await invite(judge, 'Witness Languages', 'witness');
  const w = await page('witness');
  await w.goto(link, { waitUntil: 'domcontentloaded' });
  await w.waitForSelector('#s-check:not([hidden])');
  await walkLanguages(w, 'check');
  assert.deepEqual(problems.splice(0), [], 'no page errors');
  await w.context().close();
  await judge.context().close();
});

test('a witness invited in Arabic: the page opens in Arabic, mirrored, and the oath is the Arabic text', async () => {
  // The hearing is in English; the court invites this witness in Arabic.
  const judge = await page('judge-ar');
  const h = await openHearingByApi(judge, 'LANG-AR', 'MLA-2026-0607', 'en');
  await judge.fill('#p-name', 'شاهد الاختبار');
  await judge.selectOption('#p-role', 'witness');
  await judge.selectOption('#p-lang', 'ar');
  await judge.click('#add-submit');
  await judge.waitForFunction(() => document.querySelector('#invite-url').value.includes('/join/'));
  const link = await judge.inputValue('#invite-url');
  await judge.click('#invite-done');
  const w = await page('witness-ar', { width: 390, height: 844 });
  await w.goto(link, { waitUntil: 'domcontentloaded' });
  await w.waitForSelector('#s-check:not([hidden])');
  assert.deepEqual(await w.evaluate(() => [document.documentElement.lang, document.documentElement.dir]), ['ar', 'rtl']);
  await w.waitForFunction(() => document.querySelector('#preview').videoWidth > 0);
  await w.click('#join-button');
  await w.waitForSelector('#s-lobby:not([hidden])');
  const entry = await judge.waitForSelector('#lobby-list li:has-text("شاهد الاختبار")');
  const id = await entry.getAttribute('data-participant');
  await entry.$eval('button', (b) => b.click());
  await w.waitForSelector('#s-hearing:not([hidden])');
  // The console shows the witness's language and reads the rights in it by default.
  await judge.waitForSelector(`#people-list li[data-participant="${id}"]:has-text("العربية")`);
  await judge.waitForFunction(() => document.querySelector('#rights-lang').value === 'ar');
  // Mirrored: the picture of oneself sits at the start side (left in Arabic).
  const side = await w.evaluate(() => {
    const self = document.querySelector('.self-view').getBoundingClientRect();
    const stage = document.querySelector('.self-view').parentElement.getBoundingClientRect();
    return { selfMid: self.left + self.width / 2, stageMid: stage.left + stage.width / 2 };
  });
  assert.ok(side.selfMid < side.stageMid, `self view on the left in RTL: ${JSON.stringify(side)}`);
  await w.screenshot({ path: join(ARTIFACTS, 'lang-ar-hearing.png'), fullPage: true });

  await administerOath(judge, w, id, 'oath');
  const text = await w.textContent('#oath-text');
  assert.match(text, /^أقسم أن الشهادة التي سأدلي بها/);
  assert.match(text, /حنثا باليمين/);
  await w.screenshot({ path: join(ARTIFACTS, 'lang-ar-oath.png'), fullPage: true });
  await w.click('#oath-sign');
  await w.waitForSelector('#oath-dialog', { state: 'hidden' });
  // The record says in which language the witness signed the oath.
  await waitLog(h, 'oath_taken', (e) => e.type === 'oath_taken');
  const taken = hearingLog(h).filter((e) => e.type === 'oath_taken');
  assert.deepEqual(taken.map((e) => [e.participant, e.form, e.language]), [[id, 'oath', 'ar']]);

  // The staff pages in the six languages: the hearing room, then, sealed, the portal.
  await judge.waitForSelector('#my-connection:is([data-i18n="room.conn_connected"], [data-i18n^="room.quality_"])');
  await walkLanguages(judge, 'hearing-room');
  const minutes = await minutesInPortal(judge, h, { keepGrant: true });
  assert.match(minutes, new RegExp(`${id} took the oath, signing its text in Arabic`));
  await judge.goto(`${BASE}/console`, { waitUntil: 'domcontentloaded' });
  await judge.waitForSelector('#schedule-form');
  await walkLanguages(judge, 'console');
  const p = await page('prosecutor');
  await p.goto(`${BASE}/signin`, { waitUntil: 'domcontentloaded' });
  await walkLanguages(p, 'signin');
  await p.fill('#username', PROS);
  await p.fill('#password', PROS_PASS);
  await p.press('#password', 'Enter');
  await p.waitForURL(/\/(console|portal)$/);
  await p.goto(`${BASE}/portal`, { waitUntil: 'domcontentloaded' });
  await p.waitForSelector(`tr[data-hearing="${h}"] a`);
  await walkLanguages(p, 'portal');
  await p.click(`tr[data-hearing="${h}"] a`);
  await p.waitForSelector('#record:not([hidden])');
  await walkLanguages(p, 'portal-hearing');
  await p.goto(`${BASE}/verify`, { waitUntil: 'domcontentloaded' });
  await p.waitForSelector('html[data-state="ready"]');
  await walkLanguages(p, 'verify');
  await revokeGrants(judge, h);
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
