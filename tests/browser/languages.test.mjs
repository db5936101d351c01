// Every witness in their own language (#14 point 2, 3): the join page in each of the six
// UN languages shows every text from that language's catalogue (nothing falls back to
// English); Arabic is laid out right to left. A hearing held in Arabic opens the
// witness's page in Arabic, mirrored, and the oath the witness is given, and signs, is
// the Arabic text with its perjury warning. Screenshots: test-artifacts/lang-*.png.
//
// Environment: SWORN_BASE_URL, SWORN_JUDGE_USER, SWORN_JUDGE_PASS, SWORN_ARTIFACTS.
// Loopback-only network namespace (scripts/test).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE, T, invite, chromiumForFile, newContextPage, openHearingByApi, administerOath } from './support.mjs';

const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const WEB = join(import.meta.dirname, '..', '..', 'web');
const catalogue = (lang) => JSON.parse(readFileSync(join(WEB, 'i18n', `${lang}.json`), 'utf8'));
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

test('the join page in the six UN languages: every text from its catalogue, Arabic right to left', async () => {
  const judge = await page('judge');
  await openHearingByApi(judge, 'LANG', 'MLA-2026-0606');
  const link = await invite(judge, 'Witness Languages', 'witness');
  const w = await page('witness');
  await w.goto(link, { waitUntil: 'domcontentloaded' });
  await w.waitForSelector('#s-check:not([hidden])');
  const en = catalogue('en');
  for (const lang of UN) {
    await w.selectOption('#lang-select', lang);
    await w.waitForFunction((l) => document.documentElement.lang === l, lang);
    const cat = catalogue(lang);
    const shown = await shownTexts(w);
    assert.ok(shown.length > 50, `${lang}: ${shown.length} texts on the page`);
    for (const [key, text] of shown) {
      assert.ok(Object.hasOwn(cat, key), `${lang}: no ${key} in the catalogue`);
      assert.equal(text, cat[key], `${lang}: ${key} shows its catalogue text`);
      if (lang !== 'en') assert.notEqual(text, en[key], `${lang}: ${key} left in English`);
    }
    const dir = await w.evaluate(() => document.documentElement.dir);
    assert.equal(dir, lang === 'ar' ? 'rtl' : 'ltr', `${lang}: direction`);
    await w.screenshot({ path: join(ARTIFACTS, `lang-${lang}-check.png`), fullPage: true });
  }
  assert.deepEqual(problems.splice(0), [], 'no page errors');
  await w.context().close();
  await judge.context().close();
});

test('a hearing in Arabic: the witness\'s page opens in Arabic, mirrored, and the oath is the Arabic text', async () => {
  const judge = await page('judge-ar');
  await openHearingByApi(judge, 'LANG-AR', 'MLA-2026-0607', 'ar');
  const link = await invite(judge, 'شاهد الاختبار', 'witness');
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
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
