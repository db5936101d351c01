// TURN with per-connection credentials, through Debian's coturn: scripts/browser-test
// starts `turnserver` (use-auth-secret, loopback only) and gives sworn the same secret
// in a file (SWORN_TURN_SECRET_FILE). Both pages here are forced to relay: an init
// script sets `iceTransportPolicy: 'relay'` on every RTCPeerConnection they make (the
// product has no such switch; a browser behind a firewall that blocks UDP to the server
// ends up the same way). The judge and the witness must then see each other's video,
// each page's selected candidate pair must have a local candidate of type relay, and
// coturn's log must show each page's username allocating and binding a peer.
//
// Environment: SWORN_BASE_URL, SWORN_JUDGE_USER, SWORN_JUDGE_PASS, SWORN_ARTIFACTS,
// SWORN_TURN_URL (the URL sworn hands out), SWORN_TURN_LOG (coturn's log file).
// Loopback-only network namespace (scripts/test).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { FLAGS, expectVideoPlaying, inviteJoinAdmit, newContextPage, openHearingByApi, sleep } from './support.mjs';

const BASE = (process.env.SWORN_BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const CHROMIUM = process.env.SWORN_CHROMIUM || '/usr/bin/chromium';
const TURN_URL = process.env.SWORN_TURN_URL || '';
const TURN_LOG = process.env.SWORN_TURN_LOG || '';
const T = 30_000;

let browser;
const problems = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: T });
});

after(async () => {
  if (browser) await browser.close();
});

/** A page whose peer connections may only use relay candidates, and which keeps each
 * connection (with the ICE servers the page gave it) for the test to inspect. */
function relayOnlyPage(name, contextOptions = { viewport: { width: 1280, height: 860 } }) {
  return newContextPage(browser, name, {
    origin: BASE, problems, contextOptions, timeout: T,
    initScript: () => {
      const Original = window.RTCPeerConnection;
      window.__swornTestPeers = [];
      window.RTCPeerConnection = class extends Original {
        constructor(config = {}, ...rest) {
          super({ ...config, iceTransportPolicy: 'relay' }, ...rest);
          this.__iceServers = JSON.parse(JSON.stringify(config.iceServers || []));
          window.__swornTestPeers.push(this);
        }
      };
    },
  });
}

/** The page's connected peer connection: its ICE servers, its selected candidate pair
 * (local and remote candidate) and every local candidate it gathered. */
function relayReport(page) {
  return page.evaluate(async () => {
    const pc = window.__swornTestPeers.filter((p) => p.connectionState === 'connected').pop();
    if (!pc) return { connected: false, peers: window.__swornTestPeers.map((p) => p.connectionState) };
    const stats = await pc.getStats();
    let pair = null;
    const localTypes = [];
    stats.forEach((r) => {
      if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
      if (r.type === 'local-candidate') localTypes.push(r.candidateType);
    });
    const local = pair && stats.get(pair.localCandidateId);
    const remote = pair && stats.get(pair.remoteCandidateId);
    return {
      connected: true,
      configuredPolicy: pc.getConfiguration().iceTransportPolicy,
      iceServers: pc.__iceServers,
      localTypes,
      pair: pair && {
        state: pair.state,
        bytesSent: pair.bytesSent,
        bytesReceived: pair.bytesReceived,
        local: local && { type: local.candidateType, relayProtocol: local.relayProtocol, url: local.url },
        remote: remote && { type: remote.candidateType },
      },
    };
  });
}

/** The TURN entry a page was handed: one URL (the configured one), a username
 * `<expiry>:<opaque id>` and a credential. */
function turnEntry(report, who) {
  const turn = report.iceServers.filter((s) => [].concat(s.urls).some((u) => /^turns?:/.test(u)));
  assert.equal(turn.length, 1, `${who}: one TURN server handed out: ${JSON.stringify(report.iceServers.map((s) => s.urls))}`);
  const [entry] = turn;
  assert.deepEqual([].concat(entry.urls), [TURN_URL], `${who}: the configured TURN URL`);
  const m = /^(\d+):([0-9a-f]{32})$/.exec(entry.username);
  assert.ok(m, `${who}: username is <expiry>:<opaque id>, got ${entry.username}`);
  const expiry = Number(m[1]);
  const now = Date.now() / 1000;
  assert.ok(expiry > now && expiry <= now + 86_400, `${who}: expiry ${expiry} is in the coming day (now ${now})`);
  assert.ok(typeof entry.credential === 'string' && entry.credential.length === 28, `${who}: a base64 HMAC-SHA1 credential`);
  return entry;
}

/** Waits (bounded) until coturn's log holds every one of `needles`. */
async function waitForTurnLog(needles) {
  const deadline = Date.now() + T;
  let log = '';
  while (Date.now() < deadline) {
    log = readFileSync(TURN_LOG, 'utf8');
    if (needles.every((n) => log.includes(n))) return log;
    await sleep(250);
  }
  return assert.fail(`coturn's log (${TURN_LOG}) lacks ${JSON.stringify(needles.filter((n) => !log.includes(n)))}`);
}

test('forced to relay, judge and witness see each other through coturn with their own credentials', async (t) => {
  if (!TURN_URL || !TURN_LOG) {
    t.skip('needs SWORN_TURN_URL and SWORN_TURN_LOG (scripts/browser-test starts coturn)');
    return;
  }
  const judge = await relayOnlyPage('judge');
  await openHearingByApi(judge, 'TURN', 'MLA-2026-0347');

  const witness = await inviteJoinAdmit(judge, 'Witness Relayed', 'witness',
    () => relayOnlyPage('witness', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }));
  const judgeId = await witness.page.waitForFunction(() => {
    const v = [...document.querySelectorAll('#grid video[data-participant]')].find((n) => n.srcObject);
    return v ? v.dataset.participant : null;
  }).then((h) => h.jsonValue());
  await expectVideoPlaying(witness.page, judgeId, 'witness sees the judge through TURN', T);
  await expectVideoPlaying(judge, witness.id, 'judge sees the witness through TURN', T);
  await witness.page.screenshot({ path: join(ARTIFACTS, 'turn-witness.png'), fullPage: true });

  const users = [];
  for (const [who, page] of [['judge', judge], ['witness', witness.page]]) {
    const report = await relayReport(page);
    assert.ok(report.connected, `${who}: a connected peer connection: ${JSON.stringify(report)}`);
    assert.equal(report.configuredPolicy, 'relay', `${who}: forced to relay`);
    assert.ok(report.localTypes.length > 0 && report.localTypes.every((c) => c === 'relay'), `${who}: only relay candidates: ${report.localTypes}`);
    assert.ok(report.pair && report.pair.local, `${who}: a selected candidate pair: ${JSON.stringify(report)}`);
    assert.equal(report.pair.local.type, 'relay', `${who}: the selected pair's local candidate is a relay`);
    assert.equal(report.pair.local.url, TURN_URL, `${who}: relayed by the configured TURN server`);
    assert.ok(report.pair.bytesReceived > 0 && report.pair.bytesSent > 0, `${who}: media both ways on that pair`);
    const entry = turnEntry(report, who);
    assert.ok(!entry.username.includes('Witness') && !entry.username.includes(process.env.SWORN_JUDGE_USER || 'judge'), `${who}: no name in the username`);
    users.push(entry.username);
  }
  assert.notEqual(users[0], users[1], 'each connection has its own credential');

  // coturn saw each page's username allocate a relay and bind the server as its peer.
  const log = await waitForTurnLog(users.flatMap((u) => [
    `user <${u}>: incoming packet ALLOCATE processed, success`,
    `user <${u}>: incoming packet CREATE_PERMISSION processed, success`,
  ]));
  assert.ok(!log.includes('user <Witness'), 'no participant name reaches the TURN server');
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
