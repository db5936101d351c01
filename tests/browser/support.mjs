// Helpers shared by the browser tests (not a test file itself). Those that take a
// `page` use only `page.evaluate`, so they serve a playwright-core page (Chromium) and
// a puppeteer-core page (Firefox) alike; the others drive the judge's Chromium console.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export const BASE = (process.env.SWORN_BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
export const T = 30_000;
const CHROMIUM = process.env.SWORN_CHROMIUM || '/usr/bin/chromium';
/** Debian Chromium in a namespace that holds only `lo` (shared/notes/webrtc-testing.md). */
export const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** What a test file's steps share: the page problems collected since the last check
 * (`takeProblems` asserts there are none) and the values later steps `need`. */
export function steps() {
  const problems = [];
  const S = {};
  return {
    problems,
    S,
    takeProblems: () => assert.deepEqual(problems.splice(0), [], 'no page errors'),
    need(t, ...keys) {
      if (keys.every((k) => S[k])) return true;
      t.skip(`needs ${keys.join(', ')} from an earlier step`);
      return false;
    },
  };
}

/** Debian's Chromium (never a downloaded browser) with a fake camera and microphone. */
export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: T });
}

/** For a test file: Chromium launched before its tests (with `artifacts` made) and closed
 * after them. Returns `{browser}`, filled in once launched. */
export function chromiumForFile(artifacts) {
  const held = { browser: null };
  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    held.browser = await launchChromium();
  });
  after(async () => {
    if (held.browser) await held.browser.close();
  });
  return held;
}

/** A page in a fresh Chromium context whose page and console errors go to `problems`. */
export async function chromiumPage(browser, name, problems, options = { viewport: { width: 1280, height: 900 } }) {
  const context = await browser.newContext({ ...options, acceptDownloads: true });
  await context.grantPermissions(['camera', 'microphone'], { origin: BASE });
  const page = await context.newPage();
  page.setDefaultTimeout(T);
  page.on('pageerror', (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on('console', (msg) => {
    if (process.env.SWORN_DEBUG) process.stderr.write(`[${name}] ${msg.type()}: ${msg.text()}\n`);
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`${name}: console error: ${msg.text()}`);
  });
  return page;
}

/** The judge signs in (Chromium page) and lands on the console; `shown` runs once the
 * form is there. */
export async function signIn(page, username, password, shown = async () => {}) {
  await page.goto(`${BASE}/signin`, { waitUntil: 'domcontentloaded', timeout: T });
  await page.waitForSelector('#signin-form');
  await shown();
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.press('#password', 'Enter');
  await page.waitForURL(/\/console$/);
  await page.waitForSelector('#schedule-form');
}

/** The judge schedules a hearing (France requests, Spain is requested) from the console
 * and opens it (recording); returns its id. `filled` runs before the form is sent. */
export async function scheduleAndOpen(judge, { caseRef, mlaRef, language = 'en' }, filled = async () => {}) {
  await judge.fill('#case_ref', caseRef);
  await judge.fill('#mla_ref', mlaRef);
  await judge.waitForSelector('#requesting_state option[value="FR"]', { state: 'attached' });
  await judge.selectOption('#requesting_state', 'FR');
  await judge.selectOption('#requested_state', 'ES');
  await judge.fill('#requesting_authority', 'Ministère de la Justice (BEPI)');
  await judge.fill('#requested_authority', 'Ministerio de Justicia');
  await judge.fill('#request_date', '2026-11-02');
  await judge.selectOption('#language', language);
  await filled();
  await judge.click('#schedule-submit');
  await judge.waitForURL(/\/console\/hearings\/[0-9a-f]+$/);
  await judge.click('#open-hearing');
  await judge.waitForSelector('#recording:not([hidden])');
  return judge.url().split('/').pop();
}

/** The judge adds a participant; returns the invite link read from the page. */
export async function invite(judge, name, role) {
  await judge.fill('#p-name', name);
  await judge.selectOption('#p-role', role);
  await judge.click('#add-submit');
  await judge.waitForFunction(() => document.querySelector('#invite-url').value.includes('/join/'));
  const link = await judge.inputValue('#invite-url');
  await judge.click('#invite-done');
  return link;
}

/** The judge admits the participant waiting under that name; returns their id. */
export async function admit(judge, name) {
  const entry = await judge.waitForSelector(`#lobby-list li:has-text("${name}")`);
  const id = await entry.getAttribute('data-participant');
  await entry.$eval('button', (b) => b.click());
  return id;
}

/** The judge administers the oath (or affirmation) to a participant, whose page (either
 * browser) then shows the oath dialog. */
export async function administerOath(judge, participantPage, participantId, form) {
  const row = `#oath-list li[data-participant="${participantId}"]`;
  await judge.selectOption(`${row} select`, form);
  await judge.click(`${row} button`);
  await participantPage.waitForSelector('#oath-dialog[open]');
}

/** The judge ends the hearing: confirms, signs the minutes as drafted; waits for "Closed". */
export async function endHearing(judge) {
  await judge.click('#close-hearing');
  await judge.click('#close-hearing:text("Confirm")');
  await judge.click('#minutes-panel:not([hidden]) #minutes-sign');
  await judge.waitForFunction(() => document.querySelector('#state-badge').textContent === 'Closed', null, { timeout: 60_000 });
}

/** Waits (polling the judge's console) until the record is sealed; returns the stages seen. */
export async function waitSealed(judge, ms = 240_000) {
  await judge.waitForSelector('#seal-panel:not([hidden])');
  const stages = new Set();
  const deadline = Date.now() + ms;
  for (;;) {
    const stage = await judge.getAttribute('#seal-progress', 'data-stage');
    if (stage) stages.add(stage);
    if (stage === 'sealed') return [...stages];
    assert.ok(Date.now() < deadline, `sealed within ${ms / 1000} s (stages seen: ${[...stages]})`);
    await sleep(250);
  }
}

/** The participant's stored attestation key: algorithm, extractability, raw public key (hex). */
export function storedKey(page) {
  return page.evaluate(async () => {
    const db = await new Promise((res, rej) => {
      const r = indexedDB.open('sworn-keys', 1);
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const pairs = await new Promise((res, rej) => {
      const r = db.transaction('keys').objectStore('keys').getAll();
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const pair = pairs[0];
    let privateExported = true;
    try {
      await crypto.subtle.exportKey('pkcs8', pair.privateKey);
    } catch (_e) {
      privateExported = false;
    }
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    return {
      count: pairs.length,
      alg: pair.privateKey.algorithm.name,
      extractable: pair.privateKey.extractable,
      privateExported,
      publicKey: Array.from(raw, (b) => b.toString(16).padStart(2, '0')).join(''),
    };
  });
}

/** Run in the page before its scripts (addInitScript / evaluateOnNewDocument): keeps
 * every RTCPeerConnection the page makes in `window.__swornPcs`, for receiver stats. */
export function keepPeerConnections() {
  const Orig = window.RTCPeerConnection;
  window.__swornPcs = [];
  window.RTCPeerConnection = class extends Orig {
    constructor(...args) {
      super(...args);
      window.__swornPcs.push(this);
    }
  };
}

/** What this page has received from one participant, from the inbound-rtp stats of the
 * receivers whose tracks play in that participant's tile: packets, bytes, decoded video
 * frames, decoded audio energy; and how many video frames the tile has presented
 * (requestVideoFrameCallback, counted from the first call). */
export function received(page, participantId) {
  return page.evaluate(async (id) => {
    const media = [...document.querySelectorAll('video[data-participant], audio[data-participant]')]
      .filter((n) => n.dataset.participant === id && n.srcObject);
    const tracks = new Set(media.flatMap((n) => n.srcObject.getTracks()));
    const out = { audio: { packets: 0, bytes: 0, energy: 0 }, video: { packets: 0, bytes: 0, frames: 0 }, presented: 0, audioPlaying: false };
    for (const pc of window.__swornPcs || []) {
      if (pc.connectionState === 'closed') continue;
      for (const r of pc.getReceivers()) {
        if (!tracks.has(r.track)) continue;
        (await r.getStats()).forEach((s) => {
          if (s.type !== 'inbound-rtp') return;
          const o = out[s.kind];
          o.packets += s.packetsReceived || 0;
          o.bytes += s.bytesReceived || 0;
          if (s.kind === 'video') o.frames += s.framesDecoded || 0;
          else o.energy += s.totalAudioEnergy || 0;
        });
      }
    }
    const video = media.find((n) => n.tagName === 'VIDEO');
    if (video) {
      if (!video.__swornPresented) {
        video.__swornPresented = { n: 0 };
        const tick = () => { video.__swornPresented.n += 1; video.requestVideoFrameCallback(tick); };
        video.requestVideoFrameCallback(tick);
      }
      out.presented = video.__swornPresented.n;
    }
    const audio = media.find((n) => n.tagName === 'AUDIO');
    out.audioPlaying = !!audio && !audio.paused && audio.srcObject.getAudioTracks().some((t) => t.readyState === 'live');
    return out;
  }, participantId);
}

/** Waits until this page both sees and hears that participant: decoded video frames
 * and presented frames rising, audio packets, bytes and decoded energy rising, and the
 * participant's <audio> element playing. Returns the last reading. */
export async function expectSeeAndHear(page, participantId, who) {
  const deadline = Date.now() + T;
  let first = null;
  let last = null;
  while (Date.now() < deadline) {
    last = await received(page, participantId);
    // A fresh peer connection (renegotiation, reconnect) starts its counters again.
    if (!first || last.video.frames < first.video.frames || last.audio.packets < first.audio.packets) first = last;
    else if (last.video.frames >= first.video.frames + 10 && last.presented >= first.presented + 10
      && last.audio.packets >= first.audio.packets + 25 && last.audio.bytes > first.audio.bytes
      && last.audio.energy > first.audio.energy && last.audioPlaying) return last;
    await sleep(500);
  }
  assert.fail(`${who}: media of ${participantId} not flowing: first ${JSON.stringify(first)}, last ${JSON.stringify(last)}`);
}

/** Every visible text with too little contrast against its background (WCAG 2 AA:
 * 4.5:1, or 3:1 for large text). Disabled controls are exempt, as WCAG allows. */
export function lowContrast(page) {
  return page.evaluate(() => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return { r: 0, g: 0, b: 0, a: 0 };
      const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => {
        const x = v / 255;
        return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const over = (top, base) => ({
      r: top.r * top.a + base.r * (1 - top.a),
      g: top.g * top.a + base.g * (1 - top.a),
      b: top.b * top.a + base.b * (1 - top.a),
    });
    const background = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c.a > 0) layers.push(c);
        if (c.a >= 1) break;
      }
      return layers.reverse().reduce((base, c) => over(c, base), { r: 255, g: 255, b: 255 });
    };
    const bad = [];
    for (const el of document.querySelectorAll('body *')) {
      const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim();
      if (!text || el.closest('[hidden], .visually-hidden, .skip-link, option') || el.disabled) continue;
      const r = el.getBoundingClientRect();
      const st = getComputedStyle(el);
      if (r.width === 0 || r.height === 0 || st.visibility === 'hidden') continue;
      const fg = over(parse(st.color), background(el));
      const [l1, l2] = [lum(fg), lum(background(el))].sort((a, b) => b - a);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const size = parseFloat(st.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) bad.push(`${el.tagName.toLowerCase()}.${el.className} "${text.slice(0, 30)}" ${ratio.toFixed(2)}`);
    }
    return bad;
  });
}

/** The names and data of the stored entries of a zip (sworn bundles are stored, not deflated). */
export function zipEntries(buf) {
  const out = new Map();
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd -= 1;
  assert.ok(eocd >= 0, 'zip end record');
  let count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || p === 0xffffffff) {
    const loc = buf.readUInt32LE(eocd - 20) === 0x07064b50 ? Number(buf.readBigUInt64LE(eocd - 20 + 8)) : -1;
    assert.ok(loc >= 0, 'zip64 locator');
    count = Number(buf.readBigUInt64LE(loc + 32));
    p = Number(buf.readBigUInt64LE(loc + 48));
  }
  for (let i = 0; i < count; i += 1) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'central directory entry');
    const method = buf.readUInt16LE(p + 10);
    let size = buf.readUInt32LE(p + 20);
    const n = buf.readUInt16LE(p + 28);
    const e = buf.readUInt16LE(p + 30);
    const c = buf.readUInt16LE(p + 32);
    let local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + n);
    // zip64 extra field: sizes and offset that did not fit.
    for (let x = p + 46 + n; x < p + 46 + n + e;) {
      const id = buf.readUInt16LE(x);
      const len = buf.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        if (buf.readUInt32LE(p + 24) === 0xffffffff) q += 8;
        if (size === 0xffffffff) { size = Number(buf.readBigUInt64LE(q)); q += 8; }
        if (local === 0xffffffff) local = Number(buf.readBigUInt64LE(q));
      }
      x += 4 + len;
    }
    assert.equal(method, 0, `${name} is stored`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    out.set(name, { start, size });
    p += 46 + n + e + c;
  }
  return out;
}

// Used by the TURN and ICE-TCP tests: a fresh context per participant with an init
// script, and the invite-join-admit sequence.



/** Decoded frames of the <video> showing one participant (0 if none yet). */
export function framesOf(page, participantId) {
  return page.evaluate((id) => {
    const v = [...document.querySelectorAll('video[data-participant]')].find((n) => n.dataset.participant === id);
    if (!v || !v.srcObject || v.videoWidth === 0) return 0;
    return v.getVideoPlaybackQuality().totalVideoFrames;
  }, participantId);
}

/** Wait (up to `timeout` ms) until that participant's video is playing: decoded frames
 * keep rising. Returns the frame count. */
export async function expectVideoPlaying(page, participantId, who, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  let first = 0;
  let last = 0;
  while (Date.now() < deadline) {
    last = await framesOf(page, participantId);
    if (first === 0) first = last;
    else if (last >= first + 10) return last;
    await sleep(500);
  }
  const videos = await page.evaluate(() => [...document.querySelectorAll('video[data-participant]')].map((v) => ({
    participant: v.dataset.participant,
    tracks: v.srcObject ? v.srcObject.getTracks().map((t) => `${t.kind}:${t.readyState}:${t.muted ? 'muted' : 'unmuted'}`) : null,
    width: v.videoWidth,
    frames: v.getVideoPlaybackQuality().totalVideoFrames,
  })));
  return assert.fail(`${who}: video of ${participantId} did not play (frames ${first} -> ${last}); videos: ${JSON.stringify(videos)}`);
}

/** A page in a fresh browser context (own cookies and storage) with `permissions` for
 * `origin`; its page errors and console errors are pushed to `problems` (4xx answers the
 * pages expect, e.g. /api/me before sign-in, are logged by the browser as "Failed to load
 * resource": not errors). `initScript` runs in every document before the page's own. */
export async function newContextPage(browser, name, { origin, problems, contextOptions = {}, permissions = ['camera', 'microphone'], initScript = null, timeout = 30_000 }) {
  const context = await browser.newContext(contextOptions);
  await context.grantPermissions(permissions, { origin });
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('pageerror', (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on('console', (msg) => {
    if (process.env.SWORN_DEBUG) process.stderr.write(`[${name}] ${msg.type()}: ${msg.text()}\n`);
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      problems.push(`${name}: console error: ${msg.text()}`);
    }
  });
  return page;
}

/** The judge (on a hearing's console page) adds someone; `openPage()` gives the page that
 * opens their link, passes the device check and joins the lobby. Returns {page, id}. */
export async function inviteToLobby(judge, name, role, openPage) {
  const link = await invite(judge, name, role);
  const page = await openPage();
  await joinFromLink(page, link);
  await page.waitForSelector('#s-lobby:not([hidden])');
  const entry = await judge.waitForSelector(`#lobby-list li:has-text("${name}")`);
  return { page, id: await entry.getAttribute('data-participant') };
}

/** Opens an invitation link on `page`, passes the device check and presses join. */
export async function joinFromLink(page, link) {
  await page.goto(link, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#s-check:not([hidden])');
  await page.waitForFunction(() => document.querySelector('#preview').videoWidth > 0);
  await page.click('#join-button');
}

/** As `inviteToLobby`, then the judge admits them and their page enters the hearing. */
export async function inviteJoinAdmit(judge, name, role, openPage) {
  const { page, id } = await inviteToLobby(judge, name, role, openPage);
  await judge.$eval(`#lobby-list li[data-participant="${id}"] button`, (b) => b.click());
  await page.waitForSelector('#s-hearing:not([hidden])');
  return { page, id };
}

/** Signs the judge in through the API on `judge` (a playwright page), schedules and
 * opens a hearing (in `language`) with a case reference starting `casePrefix`, and shows
 * its console.
 * Returns the hearing's id. */
export async function openHearingByApi(judge, casePrefix, mlaRef, language = 'en') {
  const user = process.env.SWORN_JUDGE_USER || 'judge';
  const pass = process.env.SWORN_JUDGE_PASS || '';
  assert.ok(pass, 'SWORN_JUDGE_PASS must be set');
  const login = await judge.request.post(`${BASE}/api/login`, { data: { username: user, password: pass } });
  assert.equal(login.status(), 200, 'judge signs in');
  const csrf = (await login.json()).csrf;
  const post = async (path, data) => {
    const res = await judge.request.post(`${BASE}${path}`, { data, headers: { 'x-csrf-token': csrf } });
    assert.ok(res.ok(), `${path}: ${res.status()}`);
    return res.json();
  };
  const hearing = await post('/api/hearings', {
    case_ref: `${casePrefix}-${Date.now()}`, mla_ref: mlaRef, requesting_state: 'FR', requested_state: 'ES',
    scheduled_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), language,
  });
  await post(`/api/hearings/${hearing.id}/open`, {});
  await judge.goto(`${BASE}/console/hearings/${hearing.id}`, { waitUntil: 'domcontentloaded' });
  await judge.waitForSelector('#recording:not([hidden])');
  return hearing.id;
}

/** The court's published server key (`/.well-known/sworn/server-key`), written to a file
 * for `sworn verify --trust`: a bundle checked against it is "valid", not merely
 * "valid, key not pinned". */
export async function courtKeyFile(dir) {
  const res = await fetch(`${BASE}/.well-known/sworn/server-key`);
  assert.equal(res.status, 200, 'the server publishes its key');
  const { vkey } = await res.json();
  const path = join(dir, 'court-key.vkey');
  writeFileSync(path, `${vkey}\n`);
  return path;
}

/** The judge (on the hearing's console) ends the hearing and waits for the seal, grants
 * the prosecutor account (SWORN_PROSECUTOR_USER/PASS) through the API, and returns the
 * signed minutes as the prosecutor reads them in the portal. The grant is revoked after:
 * the account is shared by the test files (portal.test.mjs expects an empty list);
 * with `keepGrant`, the caller revokes it (`revokeGrants`) when done. */
export async function minutesInPortal(judge, hearingId, { keepGrant = false } = {}) {
  await endHearing(judge);
  await waitSealed(judge);
  const user = process.env.SWORN_PROSECUTOR_USER || 'prosecutor';
  const pass = process.env.SWORN_PROSECUTOR_PASS || '';
  assert.ok(pass, 'SWORN_PROSECUTOR_PASS must be set');
  const me = await (await judge.request.get(`${BASE}/api/me`)).json();
  const grant = await judge.request.post(`${BASE}/api/hearings/${hearingId}/grants`, {
    data: { username: user }, headers: { 'x-csrf-token': me.csrf },
  });
  assert.ok(grant.ok(), `grant: ${grant.status()}`);
  const gid = (await grant.json()).id;
  const context = await judge.context().browser().newContext();
  try {
    const login = await context.request.post(`${BASE}/api/login`, { data: { username: user, password: pass } });
    assert.equal(login.status(), 200, 'the prosecutor signs in');
    const res = await context.request.get(`${BASE}/api/portal/hearings/${hearingId}/minutes`);
    assert.equal(res.status(), 200, 'the portal serves the minutes');
    return await res.text();
  } finally {
    await context.close();
    if (!keepGrant) {
      const revoke = await judge.request.post(`${BASE}/api/hearings/${hearingId}/grants/${gid}/revoke`, { headers: { 'x-csrf-token': me.csrf } });
      assert.ok(revoke.ok(), `revoke: ${revoke.status()}`);
    }
  }
}

/** Revokes every grant of a hearing still in force (the judge's page is signed in). */
export async function revokeGrants(judge, hearingId) {
  const me = await (await judge.request.get(`${BASE}/api/me`)).json();
  const grants = await (await judge.request.get(`${BASE}/api/hearings/${hearingId}/grants`)).json();
  for (const g of Array.isArray(grants) ? grants : grants.grants || []) {
    if (g.revoked_at !== null && g.revoked_at !== undefined) continue;
    const res = await judge.request.post(`${BASE}/api/hearings/${hearingId}/grants/${g.id}/revoke`, { headers: { 'x-csrf-token': me.csrf } });
    assert.ok(res.ok(), `revoke: ${res.status()}`);
  }
}

/** A hearing's evidence log as the server (SWORN_DATA_DIR, or `dataDir`) holds it now. */
export function hearingLog(hearing, dataDir = process.env.SWORN_DATA_DIR || '') {
  const file = join(dataDir, 'hearings', hearing, 'log', 'entries.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Waits until the hearing's log holds an entry matching `pred`; returns the first. */
export async function waitLog(hearing, what, pred, ms = T, dataDir = undefined) {
  const deadline = Date.now() + ms;
  for (;;) {
    const hit = hearingLog(hearing, dataDir).find(pred);
    if (hit) return hit;
    assert.ok(Date.now() < deadline, `the log never showed ${what}`);
    await sleep(100);
  }
}

/** True inside a network namespace of our own: its `lo` is the only interface (the
 * rules below must never touch a real host). */
export function inPrivateNamespace() {
  const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).trim().split('\n');
  return links.length === 1 && /: lo:/.test(links[0]);
}

/**
 * Blackholes UDP datagrams in this namespace: all of them, or those whose source or
 * destination port is `port` (a page's socket: its network "goes away"). This kernel has
 * neither netem nor the drop action for tc filters; policy-routing rules ahead of the
 * `local` table do the job (IPv4 and IPv6). Returns the undo, safe to call twice.
 */
export function blackholeUdp(port = null) {
  const ip = (...args) => execFileSync('ip', args);
  const ports = port === null ? [] : [port].flat();
  const selectors = port === null ? [[]] : ports.flatMap((p) => [['sport', String(p)], ['dport', String(p)]]);
  for (const v of ['-4', '-6']) {
    selectors.forEach((sel, i) => ip(v, 'rule', 'add', 'pref', String(10 + i), 'ipproto', 'udp', ...sel, 'blackhole'));
    ip(v, 'rule', 'add', 'pref', '100', 'lookup', 'local');
    ip(v, 'rule', 'del', 'pref', '0', 'lookup', 'local');
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    for (const v of ['-4', '-6']) {
      ip(v, 'rule', 'add', 'pref', '0', 'lookup', 'local');
      ip(v, 'rule', 'del', 'pref', '100', 'lookup', 'local');
      selectors.forEach((sel, i) => ip(v, 'rule', 'del', 'pref', String(10 + i), 'ipproto', 'udp', ...sel, 'blackhole'));
    }
  };
}

/** The UDP ports of every local ICE candidate of the page's `index`-th peer connection. */
export function localUdpPorts(page, index) {
  return page.evaluate(async (index) => {
    const pc = (window.__swornPcs || [])[index];
    const ports = new Set();
    if (pc) (await pc.getStats()).forEach((r) => { if (r.type === 'local-candidate' && r.protocol === 'udp' && r.port) ports.add(r.port); });
    return [...ports];
  }, index);
}

/** The selected candidate pair of the page's `index`-th peer connection (kept by
 * `keepPeerConnections`; default: the last connected one), with its ICE state. */
export function selectedPair(page, index = null) {
  return page.evaluate(async (index) => {
    const pcs = window.__swornPcs || [];
    const pc = index === null ? pcs.filter((p) => p.connectionState === 'connected').pop() : pcs[index];
    if (!pc) return null;
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((r) => {
      if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
    });
    if (!pair) return { ice: pc.iceConnectionState, index: pcs.indexOf(pc) };
    const local = stats.get(pair.localCandidateId);
    const remote = stats.get(pair.remoteCandidateId);
    return {
      ice: pc.iceConnectionState,
      index: pcs.indexOf(pc),
      ufrag: (/a=ice-ufrag:(\S+)/.exec(pc.localDescription?.sdp || '') || [])[1] || null,
      bytesSent: pair.bytesSent,
      bytesReceived: pair.bytesReceived,
      local: { protocol: local.protocol, type: local.candidateType, tcpType: local.tcpType, port: local.port },
      remote: { protocol: remote.protocol, type: remote.candidateType, tcpType: remote.tcpType, port: remote.port },
    };
  }, index);
}

/**
 * A bad link on one UDP port (a page's socket), both ways, in this namespace: `loss`
 * percent of datagrams dropped at random, and each delayed by `delay` ± `jitter` ms
 * (uniform). The stand-in for `tc netem loss/delay`, which this kernel lacks: an iptables
 * `statistic` rule drops, and an NFQUEUE rule hands the rest to `netdelay`
 * (examples/netdelay.rs, SWORN_NETDELAY) that lets each go when it is due, so datagrams
 * may overtake one another as under netem. Both act on the way in (INPUT): a datagram
 * dropped on the way out would fail the sender's sendto(2) with EPERM, not vanish.
 * Returns the undo (async, safe to call twice).
 */
export async function impairUdp(port, { loss = 0, delay = 0, jitter = 0 } = {}) {
  const ipt = (...args) => execFileSync('iptables', ['-w', ...args]);
  const chain = 'SWORN_FAULT';
  const queue = 7;
  let delayer = null;
  if (delay > 0 || jitter > 0) {
    const bin = process.env.SWORN_NETDELAY;
    assert.ok(bin && existsSync(bin), `SWORN_NETDELAY must name the built netdelay example (cargo build --examples): ${bin}`);
    // It runs until its standard input closes (then lets what it holds go and exits).
    delayer = spawn(bin, ['--queue', String(queue), '--delay-ms', String(delay), '--jitter-ms', String(jitter)], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      let out = '';
      delayer.stdout.on('data', (d) => {
        out += d;
        if (out.includes('ready')) resolve();
      });
      delayer.on('exit', (code) => reject(new Error(`netdelay exited (${code}) before it was ready`)));
    });
  }
  ipt('-N', chain);
  for (const dir of ['--sport', '--dport']) {
    const match = ['-A', chain, '-p', 'udp', dir, String(port)];
    if (loss > 0) ipt(...match, '-m', 'statistic', '--mode', 'random', '--probability', String(loss / 100), '-j', 'DROP');
    if (delayer) ipt(...match, '-j', 'NFQUEUE', '--queue-num', String(queue));
  }
  ipt('-I', 'INPUT', '-j', chain);
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    // The rules first: a datagram queued with nobody listening is dropped. Then the
    // delayer lets the datagrams it holds go and exits (killed if it has not in 5 s).
    ipt('-D', 'INPUT', '-j', chain);
    ipt('-F', chain);
    ipt('-X', chain);
    if (delayer && delayer.exitCode === null) {
      const exited = new Promise((r) => delayer.once('exit', r));
      delayer.stdin.end();
      const timer = setTimeout(() => delayer.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
}

/**
 * Datagrams to UDP `port` leave lo through a token bucket (`tc tbf`) of `rate` with a
 * `latency` ms queue: the downlink of that page's socket. An htb root sends everything
 * else on unshaped (u32 matches the port). Returns the undo (safe to call twice).
 */
export function limitUdpDownlink(port, { rate = '300kbit', latency = 200 } = {}) {
  const tc = (...args) => execFileSync('tc', args);
  tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '10');
  tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '10gbit');
  tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:20', 'htb', 'rate', '10gbit');
  tc('qdisc', 'add', 'dev', 'lo', 'parent', '1:20', 'handle', '20:', 'tbf', 'rate', rate, 'burst', '6kb', 'latency', `${latency}ms`);
  tc('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32',
    'match', 'ip', 'protocol', '17', '0xff', 'match', 'ip', 'dport', String(port), '0xffff', 'flowid', '1:20');
  let done = false;
  return () => {
    if (done) return;
    done = true;
    tc('qdisc', 'del', 'dev', 'lo', 'root');
  };
}
