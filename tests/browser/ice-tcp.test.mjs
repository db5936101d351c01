// ICE over TCP: a witness whose network blocks UDP still reaches the court. For this test
// the loopback-only namespace blackholes every UDP datagram (a policy-routing rule, IPv4
// and IPv6), so the only path left is the server's passive TCP candidate (RFC 6544, RFC 4571
// framing; `SWORN_TCP_PORT`). The judge and the witness must see each other's video,
// each page's selected candidate pair must be TCP, and data must flow both ways on it.
// The rule is removed whatever happens.
//
// Environment: SWORN_BASE_URL, SWORN_JUDGE_USER, SWORN_JUDGE_PASS, SWORN_ARTIFACTS.
// Loopback-only network namespace (scripts/test): the rule must never touch a real host.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { FLAGS, blackholeUdp, expectVideoPlaying, inPrivateNamespace, inviteJoinAdmit, keepPeerConnections, newContextPage, openHearingByApi, selectedPair } from './support.mjs';

const BASE = (process.env.SWORN_BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const CHROMIUM = process.env.SWORN_CHROMIUM || '/usr/bin/chromium';
const T = 30_000;

let browser;
let unblockUdp = () => {};
const problems = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: T });
});

after(async () => {
  unblockUdp();
  if (browser) await browser.close();
});

function page(name, contextOptions = { viewport: { width: 1280, height: 860 } }) {
  return newContextPage(browser, name, { origin: BASE, problems, contextOptions, timeout: T, initScript: keepPeerConnections });
}

test('with UDP blocked, judge and witness see each other over ICE-TCP', async (t) => {
  if (!inPrivateNamespace()) {
    t.skip('blocks UDP on lo: runs only inside the loopback-only namespace (scripts/test)');
    return;
  }
  unblockUdp = blackholeUdp();
  const judge = await page('judge');
  await openHearingByApi(judge, 'TCP', 'MLA-2026-0612');

  const witness = await inviteJoinAdmit(judge, 'Witness Behind Firewall', 'witness',
    () => page('witness', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }));
  const judgeId = await witness.page.waitForFunction(() => {
    const v = [...document.querySelectorAll('#grid video[data-participant]')].find((n) => n.srcObject);
    return v ? v.dataset.participant : null;
  }).then((h) => h.jsonValue());
  await expectVideoPlaying(witness.page, judgeId, 'witness sees the judge over TCP', T);
  await expectVideoPlaying(judge, witness.id, 'judge sees the witness over TCP', T);
  await witness.page.screenshot({ path: join(ARTIFACTS, 'ice-tcp-witness.png'), fullPage: true });

  for (const [who, p] of [['judge', judge], ['witness', witness.page]]) {
    const pair = await selectedPair(p);
    assert.ok(pair, `${who}: a connected peer connection with a selected pair`);
    assert.equal(pair.local.protocol, 'tcp', `${who}: local candidate is TCP: ${JSON.stringify(pair)}`);
    assert.equal(pair.remote.protocol, 'tcp', `${who}: the server's candidate is TCP: ${JSON.stringify(pair)}`);
    assert.equal(pair.remote.tcpType, 'passive', `${who}: the server's TCP candidate is passive`);
    assert.ok(pair.bytesSent > 0 && pair.bytesReceived > 0, `${who}: media both ways on the TCP pair`);
  }
  unblockUdp();
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
