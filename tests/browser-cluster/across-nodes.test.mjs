// A browser hearing across the nodes of a cluster (#16 point 3; scripts/browser-test-cluster
// starts two nodes sharing one PostgreSQL database and node A's public address). The
// judge opens a first hearing, which node A runs; the next is placed on node B. Every
// page talks to node A only (the console, the witness's link, their sockets): node A
// forwards what concerns the hearing to node B, while the media goes straight to node
// B's port. Judge and witness see each other; the hearing's log and recordings are on
// node B's disk, none on node A's.
//
// Environment: SWORN_BASE_URL (node A), SWORN_JUDGE_USER, SWORN_JUDGE_PASS,
// SWORN_CLUSTER_DATA_A, SWORN_CLUSTER_DATA_B, SWORN_ARTIFACTS.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BASE, T, chromiumForFile, expectVideoPlaying, inviteJoinAdmit, keepPeerConnections, newContextPage, openHearingByApi, selectedPair } from '../browser/support.mjs';

const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const A = process.env.SWORN_CLUSTER_DATA_A || '';
const B = process.env.SWORN_CLUSTER_DATA_B || '';
const chromium = chromiumForFile(ARTIFACTS);
const problems = [];
const page = (name) => newContextPage(chromium.browser, name, { origin: BASE, problems, timeout: T, initScript: keepPeerConnections });

/** Schedules and opens a hearing through the API only (no console page). */
async function openQuietly(p, caseRef) {
  const login = await p.request.post(`${BASE}/api/login`, { data: { username: process.env.SWORN_JUDGE_USER || 'judge', password: process.env.SWORN_JUDGE_PASS } });
  assert.equal(login.status(), 200);
  const csrf = (await login.json()).csrf;
  const post = async (path, data) => {
    const res = await p.request.post(`${BASE}${path}`, { data, headers: { 'x-csrf-token': csrf } });
    assert.ok(res.ok(), `${path}: ${res.status()}`);
    return res.json();
  };
  const h = await post('/api/hearings', { case_ref: caseRef, mla_ref: 'MLA-2026-0300', requesting_state: 'FR', requested_state: 'ES', scheduled_at: '2026-12-07T09:00:00Z', language: 'en' });
  await post(`/api/hearings/${h.id}/open`, {});
  return h.id;
}

test('a hearing on node B, every page talking to node A: judge and witness see each other', async () => {
  assert.ok(A && B, 'SWORN_CLUSTER_DATA_A and SWORN_CLUSTER_DATA_B must be set (scripts/browser-test-cluster)');
  const judge = await page('judge');
  const first = await openQuietly(judge, `CLUSTER-LOAD-${Date.now()}`);
  const h = await openHearingByApi(judge, 'CLUSTER', 'MLA-2026-0301');
  const list = await (await judge.request.get(`${BASE}/api/hearings`)).json();
  const nodeOf = (id) => (list.hearings.find((x) => x.id === id) || {}).node;
  assert.equal(nodeOf(first), 'node-a', 'the first hearing runs on node A');
  assert.equal(nodeOf(h), 'node-b', 'the second runs on node B');

  const { page: witness, id: wid } = await inviteJoinAdmit(judge, 'Witness Across Nodes', 'witness', () => page('witness'));
  const judgeId = await witness.waitForFunction(() => {
    const v = [...document.querySelectorAll('#grid video[data-participant]')].find((n) => n.srcObject);
    return v ? v.dataset.participant : null;
  }).then((x) => x.jsonValue());
  await expectVideoPlaying(witness, judgeId, 'the witness sees the judge');
  await expectVideoPlaying(judge, wid, 'the judge sees the witness');
  await witness.screenshot({ path: join(ARTIFACTS, 'cluster-witness.png'), fullPage: true });

  // Media goes to node B's port, not through node A: the witness's selected pair.
  const mediaPort = (n) => Number((/media on UDP port (\d+)/.exec(readFileSync(join(ARTIFACTS, `cluster-node-${n}.log`), 'utf8')) || [])[1]);
  const pair = await selectedPair(witness);
  assert.ok(pair && pair.remote, `a selected pair: ${JSON.stringify(pair)}`);
  assert.equal(pair.remote.port, mediaPort('b'), `the witness's media goes to node B's port (node A's is ${mediaPort('a')})`);

  // The hearing's record is on node B's disk only.
  const onB = join(B, 'hearings', h);
  assert.ok(existsSync(join(onB, 'log')), `the log is on node B (${onB})`);
  assert.ok(!existsSync(join(A, 'hearings', h)), 'nothing of it on node A');
  const media = () => (existsSync(join(onB, 'media')) ? readdirSync(join(onB, 'media')) : []);
  const deadline = Date.now() + 30_000;
  while (!media().some((n) => n.startsWith(`${wid}-`)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(media().some((n) => n.startsWith(`${wid}-`)), `the witness is recorded on node B: ${media().join(', ')}`);
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
