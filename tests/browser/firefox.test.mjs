// A hearing across browsers: the judge's console in Debian's Chromium (playwright-core),
// the witness and the requested-State official in Debian's Firefox ESR, driven by
// puppeteer-core over WebDriver BiDi (never a downloaded browser; one launch, a fresh
// temporary profile, one browser context each). The witness passes the device check,
// waits in the lobby and is admitted; judge and witness each decode the other's video
// and hear the other's audio (receiver stats rising, remote audio playing), and so do
// the two Firefox pages through the server; the witness's Ed25519 key (made in Firefox,
// non-extractable) is bound; the official attests the witness's identity and the witness
// takes the oath, both signed in Firefox; the judge ends the hearing and it seals. The
// sealed record holds the Firefox participants' audio and video (ffprobe), the key, oath
// and identity entries, an oath statement that verifies with node:crypto under the bound
// key, and `sworn verify` accepts it. Every page stays free of page and console errors.
//
// Environment (scripts/browser-test): SWORN_BASE_URL, SWORN_JUDGE_USER/PASS, SWORN_BIN,
// SWORN_DATA_DIR (the server's), SWORN_ARTIFACTS; SWORN_FIREFOX overrides the browser.
// Loopback-only network namespace.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createPublicKey, verify as edVerify } from 'node:crypto';
import puppeteer from 'puppeteer-core';
import {
  T, steps, launchChromium, chromiumPage, signIn, scheduleAndOpen, invite, admit, administerOath, endHearing, waitSealed,
  storedKey, keepPeerConnections, expectSeeAndHear, lowContrast, courtKeyFile,
} from './support.mjs';

const JUDGE = process.env.SWORN_JUDGE_USER || 'judge';
const JUDGE_PASS = process.env.SWORN_JUDGE_PASS || '';
const BIN = process.env.SWORN_BIN || '';
const DATA = process.env.SWORN_DATA_DIR || '';
const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const FIREFOX = process.env.SWORN_FIREFOX || '/usr/bin/firefox-esr';
const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.loopback': true,
  // Without these Firefox gathers no ICE candidate in a namespace without a default
  // route (fake streams do not count as capturing).
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
};

let chromium;
let firefox;
let profile;
const { problems, S, takeProblems, need } = steps();

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  chromium = await launchChromium();
  profile = mkdtempSync(join(tmpdir(), 'sworn-firefox-'));
  firefox = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    protocol: 'webDriverBiDi',
    userDataDir: profile,
    extraPrefsFirefox: FIREFOX_PREFS,
    timeout: T,
  });
  process.stderr.write(`firefox: ${await firefox.version()}\n`);
});

after(async () => {
  if (firefox) await firefox.close();
  if (chromium) await chromium.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** A Firefox page in its own browser context (own cookies and IndexedDB) and its own
 * window: a tab behind another is hidden, and a hidden page presents no video frames. */
async function firefoxPage(name, viewport) {
  const context = await firefox.createBrowserContext();
  const page = await context.newPage({ type: 'window' });
  page.setDefaultTimeout(T);
  await page.setViewport(viewport);
  await page.evaluateOnNewDocument(keepPeerConnections);
  page.on('pageerror', (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on('console', (msg) => {
    if (process.env.SWORN_DEBUG) process.stderr.write(`[${name}] ${msg.type()}: ${msg.text()}\n`);
    if (msg.type() === 'error') problems.push(`${name}: console error: ${msg.text()}`);
  });
  return page;
}

/** A screenshot (into $SWORN_ARTIFACTS) whose text must meet WCAG AA contrast. */
async function shot(page, file) {
  await page.screenshot({ path: join(ARTIFACTS, `firefox-${file}.png`), fullPage: true });
  assert.deepEqual(await lowContrast(page), [], `WCAG AA contrast on ${file}`);
}

/** A Firefox participant opens the invite link, passes the device check and waits in
 * the lobby; the judge admits. Returns the page and the participant id. */
async function joinFromFirefox(judge, name, role, viewport, file) {
  const link = await invite(judge, name, role);
  const page = await firefoxPage(`${role} (firefox)`, viewport);
  await page.goto(link, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#s-check:not([hidden])');
  assert.equal(await page.evaluate(() => document.visibilityState), 'visible');
  // The preview plays Firefox's fake camera.
  await page.waitForFunction(() => document.querySelector('#preview').videoWidth > 0);
  assert.equal(await page.$eval('#display-name', (n) => n.value), name);
  assert.ok(await page.$eval('#recorded-notice', (n) => !n.hidden && n.offsetHeight > 0), 'recording notice shown');
  await shot(page, `${file}-device-check`);
  await page.click('#join-button');
  await page.waitForSelector('#s-lobby:not([hidden])');
  await shot(page, `${file}-lobby`);
  const id = await admit(judge, name);
  await page.waitForSelector('#s-hearing:not([hidden])');
  return { page, id, link };
}

/** The id of the first remote participant whose video this page plays. */
async function firstRemote(page) {
  const handle = await page.waitForFunction(() => {
    const v = [...document.querySelectorAll('#grid video[data-participant]')].find((n) => n.srcObject);
    return v ? v.dataset.participant : null;
  });
  return handle.jsonValue();
}

test('the witness joins from Firefox through the lobby; the judge (Chromium) admits', async () => {
  assert.ok(JUDGE_PASS, 'SWORN_JUDGE_PASS must be set');
  const judge = await chromiumPage(chromium, 'judge (chromium)', problems);
  await judge.addInitScript(keepPeerConnections);
  await signIn(judge, JUDGE, JUDGE_PASS);
  const id = await scheduleAndOpen(judge, { caseRef: `FF-${Date.now()}`, mlaRef: 'MLA-2026-0153' });
  const witness = await joinFromFirefox(judge, 'Witness Firefox', 'witness', { width: 390, height: 844 }, '01-witness');
  // The attestation key made in Firefox at join: Ed25519, the private half not extractable.
  const key = await storedKey(witness.page);
  assert.equal(key.count, 1);
  assert.equal(key.alg, 'Ed25519');
  assert.equal(key.extractable, false, 'private key is not extractable');
  assert.equal(key.privateExported, false, 'private key export is refused');
  assert.equal(key.publicKey.length, 64, '32-byte raw public key');
  Object.assign(S, { judge, id, witness, key });
  takeProblems();
});

test('judge (Chromium) and witness (Firefox) see and hear each other', async (t) => {
  if (!need(t, 'witness')) return;
  const { judge, witness } = S;
  const judgeId = await firstRemote(witness.page);
  assert.notEqual(judgeId, witness.id);
  const atWitness = await expectSeeAndHear(witness.page, judgeId, 'witness (firefox) sees and hears the judge');
  const atJudge = await expectSeeAndHear(judge, witness.id, 'judge (chromium) sees and hears the witness');
  process.stderr.write(`witness received from judge: ${JSON.stringify(atWitness)}\njudge received from witness: ${JSON.stringify(atJudge)}\n`);
  assert.ok(await witness.page.$eval('#audio-blocked', (n) => n.hidden), 'Firefox plays the court\'s sound without a click');
  await witness.page.waitForFunction(() => /good|fair|poor/.test(document.querySelector('#quality').className));
  await shot(witness.page, '02-witness-in-hearing');
  await shot(judge, '03-judge-in-hearing');
  Object.assign(S, { judgeId });
  takeProblems();
});

test('a second Firefox participant (the official) joins; both Firefox pages see and hear each other', async (t) => {
  if (!need(t, 'judgeId')) return;
  const { judge, witness } = S;
  const official = await joinFromFirefox(judge, 'Official Firefox', 'official', { width: 1280, height: 900 }, '04-official');
  await expectSeeAndHear(official.page, witness.id, 'official (firefox) sees and hears the witness (firefox)');
  await expectSeeAndHear(witness.page, official.id, 'witness (firefox) sees and hears the official (firefox)');
  await expectSeeAndHear(judge, official.id, 'judge (chromium) sees and hears the official (firefox)');
  await expectSeeAndHear(official.page, S.judgeId, 'official (firefox) sees and hears the judge');
  Object.assign(S, { official });
  takeProblems();
});

test('the official attests the witness\'s identity, signed in Firefox', async (t) => {
  if (!need(t, 'official')) return;
  const o = S.official.page;
  await o.waitForSelector('#identity-panel:not([hidden])');
  await o.waitForSelector(`#id-subject option[value="${S.witness.id}"]`);
  await o.select('#id-subject', S.witness.id);
  await o.select('#id-method', 'passport');
  await o.type('#id-present', 'the witness and the official');
  await o.click('#id-sign');
  await o.waitForSelector('#identity-status.ok');
  await S.judge.waitForSelector(`#record-list li[data-kind="identity"][data-participant="${S.official.id}"]`);
  await shot(o, '05-official-identity');
  S.identity = true;
  takeProblems();
});

test('the witness takes the oath in Firefox, signed with the bound key', async (t) => {
  if (!need(t, 'judgeId')) return;
  const w = S.witness.page;
  await administerOath(S.judge, w, S.witness.id, 'oath');
  const d = await w.evaluate(() => ({
    modal: document.querySelector('#oath-dialog').matches(':modal'),
    focusInside: document.querySelector('#oath-dialog').contains(document.activeElement),
    text: document.querySelector('#oath-text').textContent,
    sign: document.querySelector('#oath-sign').textContent,
  }));
  assert.ok(d.modal, 'a modal dialog');
  assert.ok(d.focusInside, 'focus moved into the dialog');
  assert.equal(d.sign, 'I swear');
  assert.match(d.text, /perjury/i, 'the text the court sent, with its warning');
  await shot(w, '06-witness-oath');
  await w.click('#oath-sign');
  await w.waitForFunction(() => !document.querySelector('#oath-dialog').open);
  await w.waitForFunction(() => document.querySelector('#attest-status').textContent === 'Oath recorded.');
  await S.judge.waitForSelector(`#record-list li[data-kind="oath"][data-participant="${S.witness.id}"]`);
  await shot(w, '07-witness-oath-recorded');
  Object.assign(S, { oathText: d.text });
  takeProblems();
});

test('the judge ends the hearing; the Firefox pages are told; the record seals', async (t) => {
  if (!need(t, 'judgeId')) return;
  const j = S.judge;
  await endHearing(j);
  for (const p of [S.witness, S.official].filter(Boolean)) await p.page.waitForSelector('#s-end:not([hidden])');
  await shot(S.witness.page, '08-witness-hearing-ended');
  const stages = await waitSealed(j);
  process.stderr.write(`seal stages: ${stages.join(' -> ')}\n`);
  await shot(j, '09-judge-sealed');
  S.sealed = true;
  takeProblems();
});

/** Streams of a recording as ffprobe reads them: [{codec_type, codec_name, packets}]. */
function probe(file) {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-show_entries', 'stream=codec_type,codec_name,nb_read_packets', '-of', 'json', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ffprobe ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout).streams.map((s) => ({ codec_type: s.codec_type, codec_name: s.codec_name, packets: Number(s.nb_read_packets) }));
}

test('the sealed record: Firefox audio and video, the bound key, oath and identity; it verifies', async (t) => {
  if (!need(t, 'sealed')) return;
  assert.ok(DATA, 'SWORN_DATA_DIR must be set');
  const bundle = join(DATA, 'hearings', S.id, 'bundle');
  const log = readFileSync(join(bundle, 'log', 'entries.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const w = S.witness.id;
  const hasEntry = (want) => log.some((e) => Object.entries(want).every(([k, v]) => e[k] === v));

  // The key Firefox made is the one bound to the witness.
  const publicKey = Buffer.from(S.key.publicKey, 'hex').toString('base64url');
  assert.ok(hasEntry({ type: 'key_bound', participant: w, public_key: publicKey }), 'key_bound with the witness\'s Firefox key');
  assert.ok(hasEntry({ type: 'participant_admitted', participant: w }), 'witness admitted');
  assert.ok(hasEntry({ type: 'oath_taken', participant: w, form: 'oath' }), 'oath_taken');
  assert.ok(hasEntry({ type: 'attestation', kind: 'oath', participant: w }), 'the oath attestation');
  if (S.identity) assert.ok(hasEntry({ type: 'identity_attested', participant: w, by: S.official.id }), 'identity_attested by the official');

  // The oath statement signed in Firefox verifies under that key (node:crypto, an
  // independent Ed25519), and says exactly what the witness was shown.
  const att = join(bundle, 'attestations');
  const oathFile = readdirSync(att).find((n) => /^\d{4}-oath\.json$/.test(n) && JSON.parse(readFileSync(join(att, n), 'utf8')).participant === w);
  assert.ok(oathFile, 'the witness\'s oath statement in the bundle');
  const base = join(att, oathFile.slice(0, -'.json'.length));
  const pub = createPublicKey(readFileSync(`${base}.pub.pem`, 'utf8'));
  assert.equal(pub.export({ format: 'jwk' }).x, publicKey, 'the statement\'s key is the bound key');
  assert.ok(edVerify(null, readFileSync(join(att, oathFile)), pub, readFileSync(`${base}.sig`)), 'oath signature verifies');
  const statement = JSON.parse(readFileSync(join(att, oathFile), 'utf8'));
  assert.equal(statement.text, S.oathText, 'signed exactly the text shown');
  assert.equal(statement.form, 'oath');

  // Every Firefox participant's audio and video are in the recordings, as ffprobe reads them.
  for (const [who, id] of [['witness', w], ['official', S.official && S.official.id]].filter(([, id]) => id)) {
    const files = readdirSync(join(bundle, 'media')).filter((n) => n.startsWith(`${id}-`));
    assert.ok(files.length > 0, `a recording of the ${who}`);
    const packets = { audio: 0, video: 0 };
    const codecs = new Set();
    for (const f of files) {
      for (const s of probe(join(bundle, 'media', f))) {
        if (s.codec_type in packets) packets[s.codec_type] += s.packets;
        codecs.add(s.codec_name);
      }
    }
    process.stderr.write(`${who} (firefox) recorded: ${files.join(', ')}; codecs ${[...codecs].join('+')}; packets ${JSON.stringify(packets)}\n`);
    // The judge received at least 25 audio packets and 10 frames of each of them through
    // the server, which records all it receives from the hearing's opening on.
    assert.ok(packets.audio >= 25, `the ${who}'s audio is recorded (${packets.audio} packets)`);
    assert.ok(packets.video >= 10, `the ${who}'s video is recorded (${packets.video} frames)`);
  }

  assert.ok(BIN, 'SWORN_BIN must be set');
  const v = spawnSync(BIN, ['verify', '--trust', await courtKeyFile(ARTIFACTS), bundle], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(v.status, 0, `sworn verify: ${v.stdout}\n${v.stderr}`);
});
