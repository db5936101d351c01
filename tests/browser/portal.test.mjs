// The retrieval portal end to end with Debian's Chromium: the judge schedules, opens and
// closes a hearing through the API (it seals within seconds, no media needed), grants the
// prosecutor account with the court's grant manager (web/js/grants.js, mounted in a judge
// page); the prosecutor is sent to sign-in by /portal, sees the hearing, opens it, sees
// VALID with every named check, the signing key matching the court's published one, and
// downloads the bundle with the keyboard: `sha256sum` of the file must equal the
// fingerprint shown. The phone layout does not scroll sideways. The judge then revokes
// the grant with the manager, and the prosecutor is refused and told why; the custody
// entries show the view and the download. Screenshots (contrast-checked) go to
// $SWORN_ARTIFACTS.
//
// Environment (exported by scripts/browser-test): SWORN_BASE_URL, SWORN_JUDGE_USER,
// SWORN_JUDGE_PASS, SWORN_ARTIFACTS; SWORN_PROSECUTOR_USER/PASS (else the account is
// created here with `$SWORN_BIN user add` in $SWORN_DATA_DIR).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { lowContrast } from './support.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const BASE = (process.env.SWORN_BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const JUDGE = process.env.SWORN_JUDGE_USER || 'judge';
const JUDGE_PASS = process.env.SWORN_JUDGE_PASS || '';
const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const CHROMIUM = process.env.SWORN_CHROMIUM || '/usr/bin/chromium';
const T = 30_000;
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns', '--autoplay-policy=no-user-gesture-required'];

let browser;
const problems = [];
const S = {};

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: T });
});

after(async () => {
  if (browser) await browser.close();
});

function takeProblems() {
  const p = problems.splice(0);
  assert.deepEqual(p, [], 'no page errors');
}

async function newPage(name, options = { viewport: { width: 1280, height: 900 } }) {
  const context = await browser.newContext({ acceptDownloads: true, ...options });
  await context.grantPermissions(['camera', 'microphone'], { origin: BASE });
  const page = await context.newPage();
  page.setDefaultTimeout(T);
  page.on('pageerror', (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on('console', (msg) => {
    // Refusals the test provokes (401 before sign-in, 403 after revoke) are logged by the
    // browser as "Failed to load resource"; anything else at error level is a bug.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      problems.push(`${name}: console error: ${msg.text()}`);
    }
  });
  return page;
}

async function goto(page, path) {
  return page.goto(`${BASE}${path}`, { waitUntil: 'domcontentloaded', timeout: T });
}

async function shot(page, file) {
  await page.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
  assert.deepEqual(await lowContrast(page), [], `WCAG AA contrast on ${file}`);
}

/** Every visible form control and link has an accessible name. */
function unlabelled(page) {
  return page.evaluate(() => [...document.querySelectorAll('main a[href], main button, main input, main select, main video')]
    .filter((n) => !n.closest('[hidden]'))
    .filter((n) => {
      const name = n.getAttribute('aria-label') || n.getAttribute('aria-labelledby')
        || (n.labels && n.labels.length > 0 && n.labels[0].textContent.trim()) || n.textContent.trim();
      return !name;
    })
    .map((n) => n.outerHTML.slice(0, 80)));
}

/** Sign in through the API (cookie in the page's context); returns the CSRF token. */
async function apiLogin(page, username, password) {
  const res = await page.request.post(`${BASE}/api/login`, { data: { username, password } });
  assert.equal(res.status(), 200, `login of ${username}`);
  return (await res.json()).csrf;
}

async function judgePost(path, body = {}) {
  const res = await S.judge.request.post(`${BASE}${path}`, { data: body, headers: { 'x-csrf-token': S.csrf } });
  assert.ok(res.ok(), `${path}: ${res.status()} ${await res.text()}`);
  return res.json();
}

/** A new account of `role`, made with `sworn user add` in the server's data directory. */
function addAccount(role) {
  const user = `${role}${randomBytes(3).toString('hex')}`;
  const pass = `pw-${randomBytes(12).toString('hex')}`;
  const bin = process.env.SWORN_BIN || join(ROOT, 'target', 'debug', 'sworn');
  execFileSync(bin, ['user', 'add', '--username', user, '--role', role, '--password-stdin'],
    { input: pass, env: process.env, stdio: ['pipe', 'ignore', 'inherit'] });
  return { user, pass };
}

/** The prosecutor account: from scripts/browser-test, else created here. */
function prosecutorAccount() {
  if (process.env.SWORN_PROSECUTOR_USER && process.env.SWORN_PROSECUTOR_PASS) {
    return { user: process.env.SWORN_PROSECUTOR_USER, pass: process.env.SWORN_PROSECUTOR_PASS };
  }
  return addAccount('prosecutor');
}

/** Mount grants.js into the judge's console page (the hearing page will import it). */
async function mountGrantManager(page, hearingId) {
  await goto(page, '/console');
  await page.waitForSelector('#schedule-form');
  await page.evaluate(async (id) => {
    const { mountGrants } = await import('/static/js/grants.js');
    const { currentUser } = await import('/static/js/api.js');
    await currentUser();
    const box = document.createElement('div');
    box.id = 'grant-box';
    document.querySelector('main').prepend(box);
    mountGrants(box, id);
  }, hearingId);
  await page.waitForSelector('#grant-box form');
}

test('judge seals a hearing and grants the prosecutor with grants.js', async () => {
  assert.ok(JUDGE_PASS, 'SWORN_JUDGE_PASS must be set');
  S.prosecutor = prosecutorAccount();
  S.judge = await newPage('judge');
  S.csrf = await apiLogin(S.judge, JUDGE, JUDGE_PASS);
  S.caseRef = `PORTAL-${Date.now()}`;
  const h = await judgePost('/api/hearings', {
    case_ref: S.caseRef, mla_ref: 'MLA-2026-0077', requesting_state: 'FR', requested_state: 'ES',
    scheduled_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), language: 'en',
  });
  S.id = h.id;
  // The judge opens the hearing in the hearing room (fake camera): a few seconds of the
  // judge's media are recorded, then the hearing is closed and sealed.
  await goto(S.judge, `/console/hearings/${h.id}`);
  await S.judge.click('#open-hearing');
  await S.judge.waitForSelector('#recording:not([hidden])');
  await new Promise((r) => setTimeout(r, 5000));
  await judgePost(`/api/hearings/${h.id}/close`);

  await mountGrantManager(S.judge, S.id);
  await S.judge.waitForSelector('#grant-box .empty');
  // A time in the past is refused before anything is sent.
  await S.judge.fill('#grant-box input[name=username]', S.prosecutor.user);
  await S.judge.fill('#grant-box input[name=expires_at]', '2020-01-01T10:00');
  await S.judge.click('#grant-box button[type=submit]');
  await S.judge.waitForSelector('#grant-box .status.error');
  assert.equal(await S.judge.locator('#grant-box tbody tr').count(), 0, 'nothing granted');
  // An unknown account is refused by the server, and said so.
  const first = await S.judge.textContent('#grant-box .status');
  await S.judge.fill('#grant-box input[name=expires_at]', '');
  await S.judge.fill('#grant-box input[name=username]', 'nobody-by-that-name');
  await S.judge.click('#grant-box button[type=submit]');
  await S.judge.waitForFunction((before) => {
    const st = document.querySelector('#grant-box .status');
    return st.classList.contains('error') && st.textContent.length > 0 && st.textContent !== before;
  }, first);
  assert.equal(await S.judge.locator('#grant-box tbody tr').count(), 0, 'nothing granted');
  // The prosecutor, until revoked.
  await S.judge.fill('#grant-box input[name=username]', S.prosecutor.user);
  await S.judge.press('#grant-box input[name=username]', 'Enter');
  const row = S.judge.locator('#grant-box tbody tr[data-state=active]');
  await row.waitFor();
  assert.match(await row.textContent(), new RegExp(S.prosecutor.user));
  assert.match(await row.textContent(), /prosecutor/);
  assert.match(await row.textContent(), /until revoked/);
  // The grant itself is in the custody log the court sees.
  await S.judge.waitForFunction(() => /grant to/.test(document.querySelector('#grant-box .custody-table')?.textContent || ''));
  assert.deepEqual(await unlabelled(S.judge), [], 'grant manager controls are labelled');
  // The portal is for the parties: court staff are told so, not shown an empty list.
  const staffView = await S.judge.context().newPage();
  await goto(staffView, '/portal');
  await staffView.waitForSelector('#list-status.error');
  assert.match(await staffView.textContent('#list-status'), /prosecutor and defence/);
  await staffView.close();
  await shot(S.judge, 'portal-00-grants.png');
  takeProblems();
});

test('a grant with an end date: the defence sees when its access ends', async (t) => {
  if (!S.id) return t.skip('needs the sealed hearing of the first test');
  const defence = addAccount('defence');
  // Two hours from now, as the judge types it in local time (whole minutes).
  const end = new Date(Date.now() + 2 * 3600 * 1000);
  end.setSeconds(0, 0);
  const local = await S.judge.evaluate((ms) => {
    const d = new Date(ms);
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }, end.getTime());
  await S.judge.fill('#grant-box input[name=username]', defence.user);
  await S.judge.fill('#grant-box input[name=expires_at]', local);
  await S.judge.click('#grant-box button[type=submit]');
  const row = S.judge.locator(`#grant-box tbody tr[data-state=active]:has-text("${defence.user}")`);
  await row.waitFor();
  const utc = end.toISOString().replace(/\.\d{3}Z$/, 'Z');
  assert.equal(await row.locator('td:nth-child(4) time').getAttribute('datetime'), utc);

  const page = await newPage('defence');
  await apiLogin(page, defence.user, defence.pass);
  const list = await (await page.request.get(`${BASE}/api/portal/hearings`)).json();
  const mine = list.hearings.find((h) => h.id === S.id);
  assert.ok(mine, 'the hearing is granted to the defence');
  assert.equal(Number(mine.expires_at), end.getTime() / 1000, 'the server stored the end the judge chose');
  await goto(page, '/portal');
  const cell = page.locator(`tr[data-hearing="${S.id}"] td:last-child time`);
  await cell.waitFor();
  assert.equal(await cell.getAttribute('datetime'), utc);
  await page.context().close();
  takeProblems();
});

test('prosecutor opens the portal, sees VALID, downloads the bundle with the keyboard', async (t) => {
  if (!S.id) return t.skip('needs the sealed hearing of the first test');
  const p = await newPage('prosecutor');
  S.pros = p;
  // Not signed in: sent to sign-in, and back to the portal afterwards.
  await goto(p, '/portal');
  await p.waitForURL(/\/signin\?next=%2Fportal$/);
  await p.fill('#username', S.prosecutor.user);
  await p.fill('#password', S.prosecutor.pass);
  await p.press('#password', 'Enter');
  await p.waitForURL(/\/portal$/);

  // The hearing is listed; reload until it is sealed (it seals within seconds).
  const deadline = Date.now() + T;
  let link = p.locator(`tr[data-hearing="${S.id}"] a`);
  for (;;) {
    await p.waitForSelector(`tr[data-hearing="${S.id}"]`);
    if (await link.count() > 0) break;
    assert.ok(Date.now() < deadline, 'sealed within 30 s');
    await new Promise((r) => setTimeout(r, 500));
    await p.reload({ waitUntil: 'domcontentloaded' });
    link = p.locator(`tr[data-hearing="${S.id}"] a`);
  }
  const listRow = p.locator(`tr[data-hearing="${S.id}"]`);
  assert.match(await listRow.textContent(), /MLA-2026-0077/);
  assert.match(await listRow.textContent(), /sealed/);
  await shot(p, 'portal-01-list.png');

  await link.click();
  await p.waitForURL(new RegExp(`/portal/hearings/${S.id}$`));
  await p.waitForSelector('#record:not([hidden])');
  assert.equal(await p.textContent('#verdict-word'), 'VALID');
  assert.equal(await p.getAttribute('#verdict', 'data-valid'), 'true');
  // Every named check of the server's report is shown with its status; none failed.
  const summary = await (await p.request.get(`${BASE}/api/portal/hearings/${S.id}`)).json();
  const shown = await p.$$eval('#check-rows tr', (rows) => rows.map((r) => [r.dataset.check, r.dataset.status]));
  assert.deepEqual(shown, summary.report.checks.map((c) => [c.name, c.status]));
  assert.ok(shown.length >= 3 && shown.every(([, s]) => s !== 'fail'), `checks ${JSON.stringify(shown)}`);
  // The signing key matches the one the court publishes.
  const published = await (await p.request.get(`${BASE}/.well-known/sworn/server-key`)).json();
  assert.equal(await p.textContent('#key-published'), published.fingerprint);
  assert.equal(await p.getAttribute('#key-compare', 'data-match'), 'true');
  // Case data, minutes (a sandboxed document in a new tab).
  assert.match(await p.textContent('#case-facts'), new RegExp(`${S.caseRef}[\\s\\S]*MLA-2026-0077[\\s\\S]*France[\\s\\S]*Spain`));
  // Minutes exist only when the judge signed them in the hearing room: not here. The page
  // says so, and the server agrees (404) for the link it would have offered.
  const minutesCheck = summary.report.checks.find((c) => c.name === 'minutes');
  assert.equal(minutesCheck && minutesCheck.status, 'skip');
  assert.ok(await p.locator('#minutes-open').isHidden());
  assert.match(await p.textContent('#minutes-none'), /no signed minutes/);
  assert.equal(await p.getAttribute('#minutes-link', 'target'), '_blank');
  const minutes = await p.request.get(`${BASE}${await p.getAttribute('#minutes-link', 'href')}`);
  assert.equal(minutes.status(), 404);
  // Recordings: each listed file is a <video controls> on the file route, never preloaded.
  const videos = await p.$$eval('#recordings video', (vs) => vs.map((v) => [v.controls, v.preload, v.getAttribute('src')]));
  const playable = summary.media.filter((m) => /\.(webm|mkv|mp4)$/i.test(m.path));
  assert.equal(videos.length, playable.length);
  for (const [controls, preload, src] of videos) {
    assert.ok(controls && preload === 'none' && src.startsWith(`/api/portal/hearings/${S.id}/files/`), src);
  }
  assert.ok(videos.length >= 1, 'the judge was recorded');
  const original = playable.find((m) => m.path.startsWith('media/'));
  assert.ok(original, 'an original recording is listed');
  assert.equal(videos[0][2], `/api/portal/hearings/${S.id}/files/${original.path}`, 'originals come first');
  S.media = original.path;
  // The first recording plays in Chromium from the file route (Range requests).
  await p.locator('#recordings video').first().evaluate((v) => { v.muted = true; return v.play(); });
  await p.waitForFunction(() => {
    const v = document.querySelector('#recordings video');
    return v.videoWidth > 0 && v.currentTime > 0.5;
  });
  // My own visit is in the custody log shown.
  assert.match(await p.textContent('#custody'), new RegExp(`${S.prosecutor.user}[\\s\\S]*view summary`));
  assert.deepEqual(await unlabelled(p), [], 'portal controls are labelled');
  await shot(p, 'portal-02-hearing.png');

  // Keyboard: Tab reaches the Download link; Enter downloads the zip.
  const fingerprint = (await p.textContent('#bundle-sha256')).trim();
  assert.match(fingerprint, /^[0-9a-f]{64}$/);
  assert.equal(fingerprint, summary.bundle_fingerprint);
  await p.focus('#title');
  let reached = false;
  for (let i = 0; i < 60 && !reached; i += 1) {
    await p.keyboard.press('Tab');
    reached = await p.evaluate(() => document.activeElement && document.activeElement.id === 'download');
  }
  assert.ok(reached, 'the Download link is reachable with Tab');
  const [download] = await Promise.all([p.waitForEvent('download'), p.keyboard.press('Enter')]);
  const file = join(ARTIFACTS, `portal-${S.id}.zip`);
  await download.saveAs(file);
  assert.equal(download.suggestedFilename(), `sworn-bundle-${S.id}.zip`);
  // Each download is an export (sealed files + custody/); the fingerprint is that of the
  // sealed manifest.json inside it. Independent checks: unzip + coreutils sha256sum, node.
  const coreutils = execFileSync('sh', ['-c', `unzip -p '${file}' manifest.json | sha256sum`], { encoding: 'utf8' }).split(/\s+/)[0];
  assert.equal(coreutils, fingerprint, 'sha256 of manifest.json in the downloaded zip equals the fingerprint shown');
  const bytes = readFileSync(file);
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'PK\u0003\u0004');
  assert.match(execFileSync('unzip', ['-l', file], { encoding: 'utf8' }), /custody\/checkpoint\.note/);
  assert.match(await p.textContent('#sha-cmd'), new RegExp(`^\\$ unzip -p sworn-bundle-${S.id}\\.zip manifest\\.json \\| sha256sum\\n${fingerprint}  -`));
  takeProblems();
});

test('the hearing page works on a phone without sideways scrolling', async (t) => {
  if (!S.pros) return t.skip('needs the signed-in prosecutor');
  const phone = await S.pros.context().newPage();
  phone.on('pageerror', (err) => problems.push(`phone: page error: ${err.message}`));
  await phone.setViewportSize({ width: 375, height: 740 });
  await goto(phone, `/portal/hearings/${S.id}`);
  await phone.waitForSelector('#record:not([hidden])');
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const wide = await phone.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((n) => n.getBoundingClientRect().right > window.innerWidth + 0.5 && !n.closest('.table-wrap, pre'))
    .map((n) => `${n.tagName.toLowerCase()}#${n.id}.${n.className}`).slice(0, 8));
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone: ${wide.join(', ')}`);
  await shot(phone, 'portal-03-phone.png');
  await phone.close();
  takeProblems();
});

test('a record altered on the server is shown INVALID with the failing check', async (t) => {
  if (!S.pros || !S.media) return t.skip('needs the opened hearing');
  if (!process.env.SWORN_DATA_DIR) return t.skip('needs SWORN_DATA_DIR (the server\'s data directory)');
  // Flip one byte of the sealed recording in the server's bundle directory, then restore.
  const file = join(process.env.SWORN_DATA_DIR, 'hearings', S.id, 'bundle', ...S.media.split('/'));
  const original = readFileSync(file);
  const altered = Buffer.from(original);
  altered[altered.length >> 1] ^= 0x01;
  writeFileSync(file, altered);
  try {
    await S.pros.reload({ waitUntil: 'domcontentloaded' });
    await S.pros.waitForSelector('#record:not([hidden])');
    assert.equal(await S.pros.textContent('#verdict-word'), 'INVALID');
    assert.equal(await S.pros.getAttribute('#verdict', 'data-valid'), 'false');
    const failed = await S.pros.$$eval('#check-rows tr[data-status=fail]', (rows) => rows.map((r) => r.dataset.check));
    assert.ok(failed.length >= 1, 'a failing check is listed');
    assert.match(await S.pros.textContent('#check-rows tr[data-status=fail] .badge'), /FAIL/);
    await shot(S.pros, 'portal-04-invalid.png');
  } finally {
    writeFileSync(file, original);
  }
  await S.pros.reload({ waitUntil: 'domcontentloaded' });
  await S.pros.waitForSelector('#record:not([hidden])');
  assert.equal(await S.pros.textContent('#verdict-word'), 'VALID', 'valid again once restored');
  takeProblems();
});

test('judge revokes; the prosecutor is refused and told; custody shows the download', async (t) => {
  if (!S.pros) return t.skip('needs the prosecutor of the previous test');
  await mountGrantManager(S.judge, S.id);
  const revoke = S.judge.locator(`#grant-box tbody tr[data-state=active]:has-text("${S.prosecutor.user}") button`);
  await revoke.waitFor();
  assert.match(await revoke.getAttribute('aria-label'), new RegExp(S.prosecutor.user));
  await revoke.click();
  await S.judge.waitForSelector('#grant-box button.confirming');
  await revoke.press('Enter');
  await S.judge.locator(`#grant-box tbody tr[data-state=revoked]:has-text("${S.prosecutor.user}")`).waitFor();
  assert.equal(await S.judge.locator(`#grant-box tbody tr[data-state=active]:has-text("${S.prosecutor.user}")`).count(), 0);
  assert.equal(await S.judge.evaluate(() => document.activeElement.tagName), 'H3', 'focus stays by the grants list');
  const custody = await S.judge.textContent('#grant-box .custody-table');
  assert.match(custody, /export [0-9a-f]{32} of bundle [0-9a-f]{64}/);
  assert.match(custody, /download export [0-9a-f]{32}/);
  assert.match(custody, /revoke grant of/);
  assert.match(custody, /view (media|derived)\/\S+ bytes \d+-\d+/, 'playing the recording is in the custody log');
  await shot(S.judge, 'portal-05-revoked.png');

  await S.pros.reload({ waitUntil: 'domcontentloaded' });
  await S.pros.waitForSelector('#page-status.error');
  assert.match(await S.pros.textContent('#page-status'), /no active grant/);
  assert.ok(await S.pros.locator('#record').isHidden());
  await goto(S.pros, '/portal');
  await S.pros.waitForSelector('#no-hearings:not([hidden])');
  await shot(S.pros, 'portal-06-none.png');
  takeProblems();
});
