// The hearing's node dies mid-hearing (#16 points 4 and 5; scripts/browser-test-cluster
// starts three nodes sharing one PostgreSQL database, one Garage bucket prefix and node
// A's public address). A hearing runs on another node than A; the judge's console and
// the witness's page talk to node A only. Once the hearing's record has been shipped to
// object storage its node is killed (SIGKILL): both pages say they are reconnecting, the
// hearing moves to a live node, which restores it from object storage; the pages
// reconnect by themselves (through node A), the judge admits the witness again and they
// see each other; the hearing closes and seals on the new node, and its log, minutes and
// `sworn verify` report the lost node.
//
// Environment: SWORN_BASE_URL (node A), SWORN_JUDGE_USER, SWORN_JUDGE_PASS, SWORN_BIN,
// SWORN_CLUSTER_DATA_{A,B,C}, SWORN_CLUSTER_PID_{A,B,C}, SWORN_TEST_S3_ENDPOINT (without
// object storage nothing moves: the test says SKIPPED), SWORN_ARTIFACTS.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as S from '../browser/support.mjs';

const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const BIN = process.env.SWORN_BIN || 'target/debug/sworn';
const chromium = S.chromiumForFile(ARTIFACTS);
const problems = [];
const page = (name) => S.newContextPage(chromium.browser, name, { origin: S.BASE, problems, timeout: S.T, initScript: S.keepPeerConnections });
const dataOf = (node) => process.env[`SWORN_CLUSTER_DATA_${node.replace('node-', '').toUpperCase()}`] || '';
const pidOf = (node) => Number(process.env[`SWORN_CLUSTER_PID_${node.replace('node-', '').toUpperCase()}`] || 0);

async function nodeOf(p, h) {
  const list = await (await p.request.get(`${S.BASE}/api/hearings`)).json();
  return (list.hearings.find((x) => x.id === h) || {}).node;
}

/** What a node has shipped of a hearing's record (`log/.segments.json`). */
function shipped(node, h) {
  const f = join(dataOf(node), 'hearings', h, 'log', '.segments.json');
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : {};
}

test('the hearing\'s node is killed: the pages reconnect to the node it moved to, and the record says so', async (t) => {
  if (!process.env.SWORN_TEST_S3_ENDPOINT) {
    t.skip('SKIPPED: no object storage (scripts/test runs this under scripts/test-garage)');
    return;
  }
  const judge = await page('judge');
  const h = await S.openHearingByApi(judge, 'FAILOVER', 'MLA-2026-0400');
  const lost = await nodeOf(judge, h);
  assert.ok(lost && lost !== 'node-a', `the hearing runs on another node than A (${lost})`);
  assert.ok(pidOf(lost) > 0 && dataOf(lost), `pid and data directory of ${lost}`);

  const witness = await S.inviteJoinAdmit(judge, 'Witness Failover', 'witness', () => page('witness'));
  const w = witness.page;
  await S.expectVideoPlaying(judge, witness.id, 'the judge sees the witness');

  // The witness's recording has reached object storage: then the node dies.
  const deadline = Date.now() + 60_000;
  while (!Object.keys(shipped(lost, h).media || {}).some((f) => f.startsWith(`${witness.id}-`))) {
    assert.ok(Date.now() < deadline, `${lost} never shipped the witness's recording: ${JSON.stringify(shipped(lost, h))}`);
    await S.sleep(250);
  }
  await S.sleep(2500);
  process.kill(pidOf(lost), 'SIGKILL');
  const killedAt = Date.now();
  await w.waitForSelector('#reconnecting:not([hidden])');
  await w.screenshot({ path: join(ARTIFACTS, 'cluster-failover-reconnecting.png'), fullPage: true });

  // The pages reconnect by themselves once a live node has taken the hearing over.
  await w.waitForSelector('#s-lobby:not([hidden])', { timeout: 90_000 });
  const back = Date.now() - killedAt;
  const now = await nodeOf(judge, h);
  assert.ok(now && now !== lost, `the hearing moved off ${lost} (now ${now})`);
  await judge.waitForSelector(`#lobby-list li[data-participant="${witness.id}"] button`, { timeout: 60_000 });
  await judge.$eval(`#lobby-list li[data-participant="${witness.id}"] button`, (b) => b.click());
  await w.waitForSelector('#s-hearing:not([hidden])');
  await S.expectVideoPlaying(judge, witness.id, 'the judge sees the witness again');
  await judge.screenshot({ path: join(ARTIFACTS, 'cluster-failover-back.png'), fullPage: true });
  console.log(`# ${lost} killed: the witness's page was back in the waiting room of ${now} after ${(back / 1000).toFixed(1)} s`);

  // The record: node_lost in the log of the new node, sealed there, verified.
  const log = S.hearingLog(h, dataOf(now));
  const entry = log.find((e) => e.type === 'node_lost');
  assert.ok(entry, 'the log says the node was lost');
  assert.equal(entry.node, lost);
  assert.equal(entry.resumed_on, now);
  await S.endHearing(judge);
  await S.waitSealed(judge);
  const bundle = join(dataOf(now), 'hearings', h, 'bundle');
  const minutes = readFileSync(join(bundle, 'minutes', 'minutes.html'), 'utf8');
  assert.match(minutes, new RegExp(`the media node ${lost} stopped answering`));
  const verify = spawnSync(BIN, ['verify', bundle, '--json'], { encoding: 'utf8' });
  const report = JSON.parse(verify.stdout || '{}');
  assert.equal(report.valid, true, verify.stdout);
  assert.deepEqual((report.nodes_lost || []).map((n) => [n.node, n.resumed_on]), [[lost, now]]);
  assert.deepEqual(problems.filter((p) => !/WebSocket|ERR_CONNECTION|net::|503/.test(p)), [], 'no page errors');
});
