// The whole evidence flow in real browsers (Debian's Chromium): the judge signs in,
// schedules a hearing and invites a witness, an official and an interpreter, who join by
// link and are admitted; every page co-signs checkpoints by itself; the official attests
// the witness's identity and the judge confirms it (reloading the console before and
// after: it comes back from the log); the judge administers the oath and the witness affirms in the
// modal dialog; they talk for 20 s; the interpreter leaves (closing statement); the judge
// ends the hearing by signing the minutes, watches it seal, grants the prosecutor; the
// prosecutor plays a recording in the portal and downloads the bundle; `sworn verify`
// and the in-browser verifier (/verify) both accept it, and both reject a copy with one
// byte of a media file changed. Every attestation in the bundle is also checked with
// node:crypto against its own .pub.pem (an independent Ed25519 implementation).
//
// Environment (scripts/browser-test): SWORN_BASE_URL, SWORN_JUDGE_USER/PASS,
// SWORN_PROSECUTOR_USER/PASS, SWORN_BIN, SWORN_ARTIFACTS. Loopback-only namespace.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createPublicKey, verify as edVerify } from 'node:crypto';
import {
  BASE, T, sleep, steps, launchChromium, chromiumPage, signIn, scheduleAndOpen, invite, admit, administerOath, waitSealed,
  lowContrast, zipEntries, courtKeyFile,
} from './support.mjs';

const JUDGE = process.env.SWORN_JUDGE_USER || 'judge';
const JUDGE_PASS = process.env.SWORN_JUDGE_PASS || '';
const PROS = process.env.SWORN_PROSECUTOR_USER || 'prosecutor';
const PROS_PASS = process.env.SWORN_PROSECUTOR_PASS || '';
const BIN = process.env.SWORN_BIN || '';
const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');

let browser;
const { problems, S, takeProblems, need } = steps();

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
});

const newPage = (name, options) => chromiumPage(browser, name, problems, options);

const shot = (page, file) => page.screenshot({ path: join(ARTIFACTS, `evidence-${file}.png`), fullPage: true });
/** A screenshot of a court or participant page, whose text must meet WCAG AA contrast. */
async function checkedShot(page, file) {
  await shot(page, file);
  assert.deepEqual(await lowContrast(page), [], `WCAG AA contrast on ${file}`);
}
const goto = (page, path) => page.goto(`${BASE}${path}`, { waitUntil: 'domcontentloaded', timeout: T });

function framesOf(page, id) {
  return page.evaluate((pid) => {
    const v = [...document.querySelectorAll('video[data-participant]')].find((n) => n.dataset.participant === pid);
    return v && v.srcObject && v.videoWidth > 0 ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
  }, id);
}

async function expectVideoPlaying(page, id, who) {
  const deadline = Date.now() + T;
  let first = 0;
  while (Date.now() < deadline) {
    const n = await framesOf(page, id);
    if (first === 0) first = n;
    else if (n >= first + 10) return n;
    await sleep(500);
  }
  assert.fail(`${who}: video of ${id} is not playing`);
}

/** The judge adds someone; their page opens the link, joins, and is admitted. */
async function inviteJoinAdmit(judge, name, role, options) {
  const link = await invite(judge, name, role);
  const page = await newPage(role, options);
  await page.goto(link, { waitUntil: 'domcontentloaded', timeout: T });
  await page.waitForSelector('#s-check:not([hidden])');
  await page.waitForFunction(() => document.querySelector('#preview').videoWidth > 0);
  await page.click('#join-button');
  await page.waitForSelector('#s-lobby:not([hidden])');
  const id = await admit(judge, name);
  await page.waitForSelector('#s-hearing:not([hidden])');
  return { page, id };
}

/** Verifies a zip in /verify; returns {verdict, text}. */
async function verifyInPage(zip, name, trustFile = null) {
  const page = await newPage(`verify-${name}`);
  await goto(page, '/verify');
  await page.waitForSelector('html[data-state="ready"]');
  if (trustFile) {
    // The court's published key, pinned as a defence expert would.
    await page.click('details.pin summary');
    await page.fill('#trust', readFileSync(trustFile, 'utf8'));
  }
  await page.setInputFiles('#bundle', zip);
  await page.waitForSelector('html[data-state="done"]', { timeout: 300_000 });
  const shown = await page.evaluate(() => ({ verdict: document.documentElement.dataset.verdict, text: document.getElementById('verdict').textContent }));
  await shot(page, `verify-${name}`);
  await page.context().close();
  return shown;
}

test('the court convenes: judge, witness, official and interpreter are in the hearing', async () => {
  assert.ok(JUDGE_PASS, 'SWORN_JUDGE_PASS must be set');
  const judge = await newPage('judge');
  await signIn(judge, JUDGE, JUDGE_PASS, () => shot(judge, '00-signin'));
  const caseRef = `EVID-${Date.now()}`;
  const id = await scheduleAndOpen(judge, { caseRef, mlaRef: 'MLA-2026-0099' }, () => shot(judge, '00-console-schedule'));

  const witness = await inviteJoinAdmit(judge, 'Witness Evidence', 'witness', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const official = await inviteJoinAdmit(judge, 'Official Evidence', 'official');
  const interpreter = await inviteJoinAdmit(judge, 'Interpreter Evidence', 'interpreter');
  await expectVideoPlaying(judge, witness.id, 'judge sees the witness');
  await expectVideoPlaying(witness.page, official.id, 'witness sees the official');
  // The oath list offers exactly the witness and the interpreter.
  await judge.waitForSelector(`#oath-list li[data-participant="${interpreter.id}"]`);
  const takers = await judge.$$eval('#oath-list li', (li) => li.map((n) => n.dataset.participant).sort());
  assert.deepEqual(takers, [witness.id, interpreter.id].sort());
  await checkedShot(judge, '01-judge-hearing');
  Object.assign(S, { judge, id, caseRef, witness, official, interpreter });
  takeProblems();
});

test('every page co-signs checkpoints by itself, quietly', async (t) => {
  if (!need(t, 'judge')) return;
  // Checkpoints are signed every 10 s by default and sent to everyone admitted.
  for (const p of [S.witness.page, S.official.page, S.interpreter.page]) {
    await p.waitForFunction(() => document.querySelector('#cosign-status').classList.contains('ok'), null, { timeout: 45_000 });
    assert.equal(await p.textContent('#cosign-status'), 'Record co-signed.');
  }
  await S.judge.waitForFunction(() => /Co-signatures: [1-9]/.test(document.querySelector('#record-cosigns').textContent));
  takeProblems();
});

test('the official attests the witness\'s identity; the judge sees it and confirms it', async (t) => {
  if (!need(t, 'judge')) return;
  const o = S.official.page;
  await o.waitForSelector('#identity-panel:not([hidden])');
  assert.ok(await S.witness.page.isHidden('#identity-panel'), 'only the official has the panel');
  await o.waitForSelector(`#id-subject option[value="${S.witness.id}"]`, { state: 'attached' });
  await o.selectOption('#id-subject', S.witness.id);
  await o.selectOption('#id-method', 'passport');
  // Refused without saying who is present.
  await o.click('#id-sign');
  await o.waitForSelector('#identity-status.error');
  await o.fill('#id-present', 'the witness and the official');
  await checkedShot(o, '02-official-identity');
  await o.click('#id-sign');
  await o.waitForSelector('#identity-status.ok');
  await S.judge.waitForSelector(`#record-list li[data-kind="identity"][data-participant="${S.official.id}"]`);
  const j = S.judge;
  const row = `#identity-list li[data-subject="${S.witness.id}"]`;
  await j.waitForSelector(`#identity-confirm:not([hidden]) ${row} button`);
  // The judge reloads before confirming: the console gets it back from the log
  // (`attestations`), with the record list and the co-signatures.
  const cosigns = () => j.evaluate(() => Number(document.querySelector('#record-cosigns').textContent.replace(/\D+/g, '')));
  const before = await cosigns();
  await j.reload({ waitUntil: 'domcontentloaded' });
  await j.waitForSelector(`#identity-confirm:not([hidden]) ${row}[data-state="open"] button:not([disabled])`);
  await j.waitForSelector(`#record-list li[data-kind="identity"][data-participant="${S.official.id}"]`);
  assert.ok(await cosigns() >= before, `co-signatures after the reload (${await cosigns()}) >= before (${before})`);
  // The judge confirms it from the record panel, with the keyboard.
  assert.match(await j.textContent(row), /Identity of Witness Evidence attested by Official Evidence \(Passport\)/);
  assert.equal(await j.getAttribute(`${row} button`, 'aria-label'), 'Confirm the identity of Witness Evidence');
  assert.ok(await o.isHidden('#identity-confirm'), 'only the judge confirms');
  await checkedShot(j, '02b-judge-identity-confirm');
  await j.focus(`${row} button`);
  await j.keyboard.press('Enter');
  await j.waitForSelector(`${row}[data-state="confirmed"]`);
  await j.waitForSelector('#identity-status.ok');
  assert.match(await j.textContent('#identity-status'), /Identity of Witness Evidence confirmed/);
  assert.equal(await j.$(`${row} button`), null, 'confirmed once, no button left');
  // Reloaded again: shown as confirmed, not offered again.
  await j.reload({ waitUntil: 'domcontentloaded' });
  await j.waitForSelector(`#identity-confirm:not([hidden]) ${row}[data-state="confirmed"]`);
  assert.equal(await j.$(`${row} button`), null, 'still confirmed after a reload');
  assert.match(await j.textContent(row), /Identity of Witness Evidence attested by Official Evidence \(Passport\) — Confirmed/);
  await j.waitForSelector(`#record-list li[data-kind="identity"][data-participant="${S.official.id}"]`);
  assert.equal(await j.locator('#record-list li[data-kind="identity"]').count(), 1, 'the confirmation is not listed as an attestation');
  await checkedShot(j, '02c-judge-identity-after-reload');
  takeProblems();
});

test('the judge administers the affirmation; the witness affirms in an accessible dialog', async (t) => {
  if (!need(t, 'judge')) return;
  const w = S.witness.page;
  await administerOath(S.judge, w, S.witness.id, 'affirmation');
  const d = await w.evaluate(() => {
    const dlg = document.querySelector('#oath-dialog');
    const label = document.getElementById(dlg.getAttribute('aria-labelledby'));
    return {
      modal: dlg.matches(':modal'),
      title: label && label.textContent,
      text: document.querySelector('#oath-text').textContent,
      focusInside: dlg.contains(document.activeElement),
      sign: document.querySelector('#oath-sign').textContent,
    };
  });
  assert.ok(d.modal, 'a modal dialog');
  assert.equal(d.title, 'Solemn affirmation');
  assert.equal(d.sign, 'I solemnly affirm');
  assert.ok(d.focusInside, 'focus moved into the dialog');
  assert.match(d.text, /perjury/i, 'the text the court sent, with its warning');
  // Focus trap: Tab from the last control comes back to the first.
  await w.focus('#oath-later');
  await w.keyboard.press('Tab');
  assert.equal(await w.evaluate(() => document.activeElement.id), 'oath-text');
  await checkedShot(w, '03-witness-oath-dialog');
  // Keyboard: Tab to "I solemnly affirm" and press Enter.
  await w.keyboard.press('Tab');
  assert.equal(await w.evaluate(() => document.activeElement.id), 'oath-sign');
  await w.keyboard.press('Enter');
  await w.waitForSelector('#oath-dialog', { state: 'hidden' });
  await w.waitForFunction(() => document.querySelector('#attest-status').textContent === 'Oath recorded.');
  await S.judge.waitForSelector(`#record-list li[data-kind="oath"][data-participant="${S.witness.id}"]`);
  S.oathText = d.text;
  await checkedShot(w, '04-witness-oath-recorded');
  await checkedShot(S.judge, '04-judge-record');
  takeProblems();
});

test('they talk for 20 s; the interpreter leaves with a closing statement', async (t) => {
  if (!need(t, 'judge')) return;
  await sleep(20_000);
  await expectVideoPlaying(S.judge, S.witness.id, 'judge still sees the witness');
  const i = S.interpreter.page;
  await i.click('#leave');
  await i.waitForSelector('#s-end:not([hidden])');
  await S.judge.waitForSelector(`#record-list li[data-kind="closing"][data-participant="${S.interpreter.id}"]`);
  await checkedShot(i, '05-interpreter-left');
  await i.context().close();
  takeProblems();
});

test('the judge signs the minutes, the hearing closes and seals, the prosecutor is granted', async (t) => {
  if (!need(t, 'judge')) return;
  const j = S.judge;
  await j.click('#close-hearing');
  await j.click('#close-hearing:text("Confirm")');
  await j.waitForSelector('#minutes-panel:not([hidden])');
  const frame = j.frameLocator('#minutes-frame');
  await frame.locator('body').waitFor();
  const minutes = await frame.locator('body').textContent();
  for (const name of ['Witness Evidence', 'Official Evidence']) assert.ok(minutes.includes(name), `minutes name ${name}`);
  assert.equal(await j.getAttribute('#minutes-frame', 'sandbox'), '', 'the minutes frame runs no script');
  await checkedShot(j, '06-judge-minutes');
  const signedAt = Date.now();
  await j.click('#minutes-sign');
  await j.waitForFunction(() => document.querySelector('#state-badge').textContent === 'Closed', null, { timeout: 60_000 });
  await S.witness.page.waitForSelector('#s-end:not([hidden])');
  await j.waitForSelector('#record-list li[data-kind="minutes"]', { state: 'attached' });
  assert.ok(await j.isHidden('#oath-admin'), 'no oath to administer once closed');
  // Sealing: stages shown with a progress bar until sealed.
  const stages = await waitSealed(j);
  process.stderr.write(`seal stages seen by the console: ${stages.join(' -> ')}; minutes signed -> sealed shown: ${Date.now() - signedAt} ms\n`);
  assert.equal(await j.evaluate(() => document.querySelector('#seal-progress').value), 1);
  await checkedShot(j, '07-judge-sealed');
  await j.waitForSelector('#grants form');
  await j.fill('#grants input[name=username]', PROS);
  await j.click('#grants button[type=submit]');
  await j.waitForSelector('#grants tbody tr[data-state=active]');
  await checkedShot(j, '08-judge-granted');
  S.sealed = true;
  takeProblems();
});

test('the prosecutor plays a recording and downloads the bundle', async (t) => {
  if (!need(t, 'sealed')) return;
  const p = await newPage('prosecutor');
  await goto(p, '/signin');
  await p.fill('#username', PROS);
  await p.fill('#password', PROS_PASS);
  await p.press('#password', 'Enter');
  await p.waitForURL(/\/(console|portal)$/);
  await goto(p, '/portal');
  await p.waitForSelector(`tr[data-hearing="${S.id}"] a`);
  await shot(p, '09-portal-list');
  await p.click(`tr[data-hearing="${S.id}"] a`);
  await p.waitForSelector('#record:not([hidden])');
  assert.equal(await p.textContent('#verdict-word'), 'VALID');
  // The witness's testimony (one connection, the whole hearing): the judge's files are
  // cut by the console reloads above and may be shorter than a second. The witness's
  // last file holds the camera: a first file may hold only the seconds of sound before
  // the camera's first frame (the recorder starts a new file when a track appears).
  const testimony = `#recordings video[data-path^="media/${S.witness.id}-"]`;
  await p.locator(testimony).last().evaluate((v) => { v.muted = true; return v.play(); });
  await p.waitForFunction((sel) => {
    const all = document.querySelectorAll(sel);
    const v = all[all.length - 1];
    return v.videoWidth > 0 && v.currentTime > 1;
  }, testimony, { timeout: 60_000 });
  await shot(p, '10-portal-hearing');
  const [download] = await Promise.all([p.waitForEvent('download'), p.click('#download')]);
  const zip = join(ARTIFACTS, `evidence-${S.id}.zip`);
  await download.saveAs(zip);
  S.zip = zip;
  await p.context().close();
  takeProblems();
});

test('the bundle holds every attestation, each verifying with node:crypto', async (t) => {
  if (!need(t, 'zip')) return;
  const buf = readFileSync(S.zip);
  const entries = zipEntries(buf);
  const names = [...entries.keys()];
  const read = (n) => buf.subarray(entries.get(n).start, entries.get(n).start + entries.get(n).size);
  const kinds = new Map();
  for (const n of names.filter((x) => /^attestations\/\d{4}-\w+\.json$/.test(x))) {
    const st = JSON.parse(read(n).toString('utf8'));
    const base = n.slice(0, -'.json'.length);
    const ok = edVerify(null, read(n), createPublicKey(read(`${base}.pub.pem`).toString('utf8')), read(`${base}.sig`));
    assert.ok(ok, `${n} signature verifies`);
    assert.equal(st.hearing, S.id);
    kinds.set(st.kind, [...(kinds.get(st.kind) || []), st]);
  }
  for (const k of ['identity', 'oath', 'cosign', 'closing', 'minutes']) assert.ok(kinds.has(k), `an ${k} attestation`);
  const oath = kinds.get('oath')[0];
  assert.equal(oath.participant, S.witness.id);
  assert.equal(oath.form, 'affirmation');
  assert.equal(oath.text, S.oathText, 'the witness signed exactly the text shown');
  const identity = kinds.get('identity')[0];
  assert.deepEqual([identity.participant, identity.subject, identity.method], [S.official.id, S.witness.id, 'passport']);
  assert.match(identity.text, /Witness Evidence[\s\S]*passport[\s\S]*the witness and the official/);
  assert.equal(kinds.get('closing')[0].participant, S.interpreter.id);
  // The judge's confirmation: a signed identity statement naming the official's entry,
  // its attestation entry and an identity_attested entry by the judge, in the minutes.
  const log = read('log/entries.jsonl').toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
  const confirmations = kinds.get('identity').filter((s) => s.confirms !== undefined);
  assert.equal(confirmations.length, 1, 'the judge confirmed once');
  const c = confirmations[0];
  const attested = log.find((e) => e.type === 'identity_attested' && e.by === S.official.id);
  assert.equal(c.confirms, attested.seq, 'confirms names the official\'s identity_attested entry');
  assert.equal(c.subject, S.witness.id);
  assert.notEqual(c.participant, S.official.id);
  assert.match(c.text, /I confirm the identity of Witness Evidence, as attested by Official Evidence \(Passport\)/);
  const confirmed = log.find((e) => e.type === 'identity_attested' && e.method === 'confirmed');
  assert.deepEqual([confirmed.participant, confirmed.by], [S.witness.id, c.participant]);
  assert.ok(log.some((e) => e.type === 'attestation' && e.kind === 'identity' && e.participant === c.participant), 'the attestation entry');
  const html = read('minutes/minutes.html');
  assert.match(html.toString('utf8'), /identity of [^<]* confirmed by the judge/);
  const minutesSt = kinds.get('minutes').at(-1);
  const sigOk = edVerify(null, html, createPublicKey(read(`attestations/${names.find((n) => n.endsWith('-minutes.pub.pem')).split('/')[1]}`).toString('utf8')), read('minutes/minutes.sig'));
  assert.ok(sigOk, 'minutes.sig verifies over the exact HTML');
  const { createHash } = await import('node:crypto');
  assert.equal(minutesSt.minutes_sha256, createHash('sha256').update(html).digest('hex'));
  process.stderr.write(`attestations: ${[...kinds].map(([k, v]) => `${k} x${v.length}`).join(', ')}\n`);
});

test('sworn verify and /verify accept the bundle and reject one changed media byte', async (t) => {
  if (!need(t, 'zip')) return;
  assert.ok(BIN, 'SWORN_BIN must be set');
  const courtKey = await courtKeyFile(ARTIFACTS);
  const good = spawnSync(BIN, ['verify', '--trust', courtKey, S.zip], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(good.status, 0, `sworn verify: ${good.stdout}\n${good.stderr}`);
  // The download is an export: it carries the custody entries about this hearing, the
  // grant and this very export among them, each proven against a signed custody checkpoint.
  assert.match(good.stdout, /CUSTODY\s+#\d+ \S+ user \S+ \(judge\) grant to \S+ \(prosecutor\)/);
  assert.match(good.stdout, /CUSTODY\s+#\d+ \S+ user \S+ \(prosecutor\) export [0-9a-f]{32} of bundle [0-9a-f]{64}: created/);
  const shown = await verifyInPage(S.zip, 'valid', courtKey);
  assert.equal(shown.verdict, 'valid', shown.text);

  const buf = Buffer.from(readFileSync(S.zip));
  const entries = zipEntries(buf);
  const media = [...entries.entries()].find(([n, e]) => n.startsWith('media/') && e.size > 1000);
  assert.ok(media, 'a media file in the bundle');
  const [name, e] = media;
  buf[e.start + (e.size >> 1)] ^= 0x01;
  const bad = join(ARTIFACTS, `evidence-${S.id}-tampered.zip`);
  writeFileSync(bad, buf);
  const refused = spawnSync(BIN, ['verify', bad], { encoding: 'utf8', timeout: 300_000 });
  assert.notEqual(refused.status, 0, `sworn verify must refuse a changed byte in ${name}`);
  process.stderr.write(`sworn verify on the tampered copy (exit ${refused.status}): ${(refused.stdout + refused.stderr).split('\n').filter(Boolean).slice(-3).join(' | ')}\n`);
  const rejected = await verifyInPage(bad, 'tampered');
  assert.notEqual(rejected.verdict, 'valid', rejected.text);
  process.stderr.write(`/verify on the tampered copy: ${rejected.verdict}: ${rejected.text}\n`);
  takeProblems();
});

test('canonical JSON of attest.js: UTF-16 key order, minimal escapes, integers only', async () => {
  const { canonicalJson, CanonicalError } = await import('../../web/js/attest.js');
  // U+10000 is D800 DC00 in UTF-16, so it sorts before U+FFFF (UTF-8 / code point order would not).
  assert.equal(canonicalJson({ '\uffff': 1, '\u{10000}': 2, b: [true, null, 'x'], a: { d: -5, c: 0 } }),
    '{"a":{"c":0,"d":-5},"b":[true,null,"x"],"\u{10000}":2,"\uffff":1}');
  assert.equal(canonicalJson('q"b\\s/\b\t\n\f\r\u0001\u001f\u007f é'), '"q\\"b\\\\s/\\b\\t\\n\\f\\r\\u0001\\u001f\u007f é"');
  assert.equal(canonicalJson({ size: 9007199254740991 }), '{"size":9007199254740991}');
  for (const bad of [1.5, -0, NaN, 2 ** 53, '\ud800']) assert.throws(() => canonicalJson(bad), CanonicalError, String(bad));
  // The statement shape of docs/protocol.md, byte for byte.
  const st = canonicalJson({ v: 1, text: 'I confirm.', participant: 'p1', kind: 'cosign', hearing: 'h1', checkpoint: { size: 12, root: 'AA==' } });
  assert.equal(st, '{"checkpoint":{"root":"AA==","size":12},"hearing":"h1","kind":"cosign","participant":"p1","text":"I confirm.","v":1}');
});

// Last: the court revokes the grant again (the prosecutor account is shared with
// portal.test.mjs, which expects to see only its own hearing).
test('the court revokes the prosecutor\'s access from the hearing room', async (t) => {
  if (!need(t, 'sealed')) return;
  const j = S.judge;
  const revoke = j.locator('#grants tbody tr[data-state=active] button');
  await revoke.click();
  await j.waitForSelector('#grants button.confirming');
  await revoke.click();
  await j.waitForSelector('#grants tbody tr[data-state=revoked]');
  assert.equal(await j.locator('#grants tbody tr[data-state=active]').count(), 0);
  await j.context().close();
  takeProblems();
});

test('attest.js co-signs each checkpoint at most once, throttled, with a verifiable signature', async () => {
  const { Attestor } = await import('../../web/js/attest.js');
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
  const sent = [];
  const make = (every) => new Attestor({
    hearingId: 'h1', participantId: () => 'p1', key: { pair, publicKey: 'x' }, send: (m) => sent.push(m),
    cosignText: (n) => `I confirm checkpoint ${n}.`, cosignEveryMs: every,
  });
  const a = make(0);
  await a.onCheckpoint({ size: 3, root: 'AAA=' });
  await a.onCheckpoint({ size: 3, root: 'AAA=' });
  await a.onCheckpoint({ size: 4, root: 'BBB=' });
  await a.onCheckpoint({ size: 1.5, root: 'CCC=' });
  assert.deepEqual(sent.map((m) => JSON.parse(m.statement).checkpoint.size), [3, 4], 'once per checkpoint, invalid ones ignored');
  for (const m of sent) {
    const sig = Buffer.from(m.signature, 'base64url');
    assert.equal(sig.length, 64);
    assert.ok(await crypto.subtle.verify({ name: 'Ed25519' }, pair.publicKey, sig, new TextEncoder().encode(m.statement)));
  }
  assert.equal(sent[1].statement, '{"checkpoint":{"root":"BBB=","size":4},"hearing":"h1","kind":"cosign","participant":"p1","text":"I confirm checkpoint 4.","v":1}');
  sent.length = 0;
  const b = make(60_000);
  await b.onCheckpoint({ size: 5, root: 'AAA=' });
  await b.onCheckpoint({ size: 6, root: 'BBB=' });
  assert.equal(sent.length, 1, 'throttled to one per minute');
  assert.equal(b.latest.size, 6, 'but the latest checkpoint is kept for the next statement');
});
