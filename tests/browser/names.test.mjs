// Names in any script (#14 point 5) in the minutes and the portal, as Chromium renders
// them: a witness named in Arabic, an interpreter in Chinese, a defence lawyer in
// Cyrillic. In the signed minutes each name is its own isolate (<bdi>); in the portal the
// Arabic name inside an English label is isolated (FSI…PDI). The proof is the layout:
// the Arabic name's first letter is drawn to the right of its last (right to left) and
// the label's English words stay after it; the Chinese and Cyrillic names run left to
// right; the Chinese characters are real glyphs (two different characters do not draw
// the same box) and the Arabic letters are joined (the name is drawn unlike its letters
// kept apart). Screenshots: test-artifacts/names-*.png.
//
// Environment: SWORN_BASE_URL, SWORN_JUDGE_USER/PASS, SWORN_PROSECUTOR_USER/PASS,
// SWORN_ARTIFACTS. Loopback-only network namespace.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE, T, invite, inviteJoinAdmit, chromiumForFile, newContextPage, openHearingByApi, minutesInPortal, revokeGrants } from './support.mjs';

const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const chromium = chromiumForFile(ARTIFACTS);
const problems = [];
const page = (name) => newContextPage(chromium.browser, name, { origin: BASE, problems, contextOptions: { viewport: { width: 1280, height: 900 } }, timeout: T });

const ARABIC = 'سارة الأحمد';
const CHINESE = '王小明';
const CYRILLIC = 'Иван Петров';

/** How `name` is laid out in the first text node of the page that holds it (inside
 * `within`): x of its first and last characters, whether it sits in an isolate, and,
 * for what follows it in the same text node, whether it is drawn after the name. */
function layout(p, name, within = 'body') {
  return p.evaluate(({ name, within }) => {
    const root = document.querySelector(within);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const at = n.data.indexOf(name);
      if (at < 0) continue;
      const rect = (from, to) => {
        const r = document.createRange();
        r.setStart(n, from);
        r.setEnd(n, to);
        return r.getBoundingClientRect();
      };
      const first = rect(at, at + 1);
      const last = rect(at + name.length - 1, at + name.length);
      const whole = rect(at, at + name.length);
      const end = at + name.length;
      // Text after the name in the same node (skipping an isolate's closing mark).
      const rest = n.data.slice(end).replace(/^\u2069/, '');
      const restRect = rest.trim() ? rect(n.data.length - rest.length + rest.search(/\S/), n.data.length - rest.length + rest.search(/\S/) + 1) : null;
      return {
        first: first.left,
        last: last.left,
        right: whole.right,
        isolate: n.parentElement.closest('bdi') !== null || n.data[at - 1] === '\u2068',
        after: restRect ? restRect.left : null,
      };
    }
    return null;
  }, { name, within });
}

/** Real glyphs and shaping in the page's font: two Chinese characters draw differently
 * (missing glyphs draw the same box) and the Arabic name differs from its letters
 * kept apart by zero-width non-joiners. */
function glyphs(p) {
  return p.evaluate(({ zh, ar }) => {
    const draw = (text) => {
      const c = document.createElement('canvas');
      c.width = 200;
      c.height = 60;
      const g = c.getContext('2d');
      g.font = `32px ${getComputedStyle(document.body).fontFamily}`;
      g.fillText(text, 10, 40);
      return Array.from(g.getImageData(0, 0, 200, 60).data).join(',');
    };
    const apart = [...ar].join('\u200c');
    return { distinct: draw(zh[0]) !== draw(zh[2]), joined: draw(ar) !== draw(apart) };
  }, { zh: CHINESE, ar: ARABIC });
}

test('Arabic, Chinese and Cyrillic names in the minutes and the portal: isolated, in their direction, drawn as real shaped text', async () => {
  const judge = await page('judge');
  const h = await openHearingByApi(judge, 'NAMES', 'MLA-2026-1212');
  await inviteJoinAdmit(judge, ARABIC, 'witness', () => page('witness'));
  await invite(judge, CHINESE, 'interpreter');
  await invite(judge, CYRILLIC, 'defence');
  await new Promise((r) => setTimeout(r, 2500)); // a few seconds of the witness recorded
  await minutesInPortal(judge, h, { keepGrant: true });

  const pros = await page('prosecutor');
  const login = await pros.request.post(`${BASE}/api/login`, { data: { username: process.env.SWORN_PROSECUTOR_USER || 'prosecutor', password: process.env.SWORN_PROSECUTOR_PASS || '' } });
  assert.equal(login.status(), 200);

  // The signed minutes.
  await pros.goto(`${BASE}/api/portal/hearings/${h}/minutes`, { waitUntil: 'load' });
  await pros.screenshot({ path: join(ARTIFACTS, 'names-minutes.png'), fullPage: true });
  for (const name of [ARABIC, CHINESE, CYRILLIC]) {
    const l = await layout(pros, name);
    assert.ok(l, `${name} in the minutes`);
    assert.ok(l.isolate, `${name} is isolated in the minutes`);
    if (name === ARABIC) assert.ok(l.first > l.last, `${name} right to left: ${JSON.stringify(l)}`);
    else assert.ok(l.first < l.last, `${name} left to right: ${JSON.stringify(l)}`);
  }
  const m = await glyphs(pros);
  assert.deepEqual(m, { distinct: true, joined: true }, 'the minutes draw real, shaped glyphs');

  // The portal: the participants and the witness's recording, labelled in English.
  await pros.goto(`${BASE}/portal/hearings/${h}`, { waitUntil: 'domcontentloaded' });
  await pros.waitForSelector('#record:not([hidden])');
  await pros.screenshot({ path: join(ARTIFACTS, 'names-portal.png'), fullPage: true });
  for (const name of [ARABIC, CHINESE, CYRILLIC]) {
    const l = await layout(pros, name, '#participant-rows');
    assert.ok(l, `${name} among the participants`);
    if (name === ARABIC) assert.ok(l.first > l.last, `${name} right to left`);
    else assert.ok(l.first < l.last, `${name} left to right`);
  }
  const label = await layout(pros, ARABIC, '#recordings');
  assert.ok(label && label.isolate, `the recording's label isolates the name: ${JSON.stringify(label)}`);
  assert.ok(label.first > label.last, 'right to left inside the label');
  assert.ok(label.after !== null && label.after >= label.right - 1, `the label's words follow the name: ${JSON.stringify(label)}`);
  assert.deepEqual(await glyphs(pros), { distinct: true, joined: true }, 'the portal draws real, shaped glyphs');
  await revokeGrants(judge, h);
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
