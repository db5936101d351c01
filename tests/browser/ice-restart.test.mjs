// A network change (#11 point 4): the witness's network goes away mid-hearing (the UDP
// port their page uses is blackholed in the namespace, as when a phone leaves Wi-Fi).
// Their page restarts ICE on the same peer connection (new credentials, new candidates
// on a new port); the hearing goes on without a rejoin (no participant_left, the same
// peer connection), the judge sees the witness again, and the log records the gap in
// the witness's recording.
//
// Environment: SWORN_BASE_URL, SWORN_JUDGE_USER, SWORN_JUDGE_PASS, SWORN_DATA_DIR,
// SWORN_ARTIFACTS. Loopback-only network namespace (scripts/test): the rules must never
// touch a real host.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE, T, blackholeUdp, chromiumForFile, expectVideoPlaying, hearingLog, inPrivateNamespace, inviteJoinAdmit, keepPeerConnections, localUdpPorts, newContextPage, openHearingByApi, received, selectedPair, waitLog } from './support.mjs';

const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const chromium = chromiumForFile(ARTIFACTS);
const problems = [];
let unblock = () => {};
after(() => unblock());

const page = (name) => newContextPage(chromium.browser, name, { origin: BASE, problems, contextOptions: { viewport: { width: 1280, height: 860 } }, timeout: T, initScript: keepPeerConnections });

test("the witness's network changes: ICE restarts on the same connection, the hearing goes on, the gap is logged", async (t) => {
  if (!inPrivateNamespace()) {
    t.skip('blackholes a UDP port on lo: runs only inside the loopback-only namespace (scripts/test)');
    return;
  }
  assert.ok(process.env.SWORN_DATA_DIR, 'SWORN_DATA_DIR must name the server data directory');
  const judge = await page('judge');
  const h = await openHearingByApi(judge, 'ICERESTART', 'MLA-2026-1313');
  const { page: witness, id: wid } = await inviteJoinAdmit(judge, 'Witness On The Move', 'witness', () => page('witness'));
  await expectVideoPlaying(judge, wid, 'judge sees the witness');
  const before = await selectedPair(witness);
  assert.ok(before && before.local && before.local.protocol === 'udp', `a UDP pair: ${JSON.stringify(before)}`);

  // The witness's network goes away.
  const cut = new Date().toISOString();
  // Every UDP socket this connection gathered goes (not only the selected one: a second
  // host candidate would carry on without a restart).
  const ports = await localUdpPorts(witness, before.index);
  unblock = blackholeUdp(ports.includes(before.local.port) ? ports : [before.local.port, ...ports]);
  // The same peer connection restarts ICE and reconnects on a new port.
  const deadline = Date.now() + 45_000;
  let now = null;
  for (;;) {
    now = await selectedPair(witness, before.index);
    if (now && now.ice === 'connected' && now.local && !ports.includes(now.local.port) && now.local.port !== before.local.port) break;
    assert.ok(Date.now() < deadline, `no ICE restart: ${JSON.stringify({ before, now })}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.notEqual(now.ufrag, before.ufrag, 'new ICE credentials (an ICE restart)');
  const pcs = await witness.evaluate(() => window.__swornPcs.length);
  assert.equal(pcs, before.index + 1, 'no new peer connection: the same one restarted');
  unblock();

  // The judge sees the witness again.
  const a = await received(judge, wid);
  await expectVideoPlaying(judge, wid, 'judge sees the witness after the change');
  const b = await received(judge, wid);
  assert.ok(b.video.frames > a.video.frames, `frames after the restart: ${JSON.stringify({ a, b })}`);
  await witness.screenshot({ path: join(ARTIFACTS, 'ice-restart-witness.png'), fullPage: true });

  // The log: the gap in the witness's recording, and no departure.
  await waitLog(h, "the witness's gap", (e) => e.type === 'gap' && e.participant === wid && e.wall_end >= cut);
  const left = hearingLog(h).filter((e) => (e.type === 'participant_left' || e.type === 'participant_joined') && e.participant === wid && e.time >= cut);
  assert.deepEqual(left, [], 'the witness never left the hearing');
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
