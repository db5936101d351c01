// A witness on a weak link keeps testifying (#11 point 4): their downlink is cut to
// 120 kbit/s (a tbf with an 800 ms queue on the namespace's lo, matched on the UDP
// port their page receives on). Not even the judge's smallest simulcast layer fits
// (150 kbit/s; simulcast.test.mjs covers the weak links a layer fits): the server stops the
// video it sends the witness and keeps the audio; the witness's page says so, the judge's
// console marks the witness "audio only", and the log records it. When the link is back,
// video is tried again (after 30 s) and the witness sees the judge again.
//
// Environment: SWORN_BASE_URL, SWORN_JUDGE_USER, SWORN_JUDGE_PASS, SWORN_DATA_DIR,
// SWORN_ARTIFACTS. Loopback-only network namespace (scripts/test): the queueing rules
// must never touch a real host.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE, T, chromiumForFile, expectVideoPlaying, inPrivateNamespace, inviteJoinAdmit, keepPeerConnections, limitUdpDownlink, newContextPage, openHearingByApi, received, selectedPair, waitLog } from './support.mjs';

const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const chromium = chromiumForFile(ARTIFACTS);
const problems = [];
let unlimit = () => {};
after(() => unlimit());

const page = (name) => newContextPage(chromium.browser, name, { origin: BASE, problems, contextOptions: { viewport: { width: 1280, height: 860 } }, timeout: T, initScript: keepPeerConnections });

async function until(what, fn, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    assert.ok(Date.now() < deadline, `never: ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('a downlink too weak for video gets audio only, is told, logged, and gets video back', async (t) => {
  if (!inPrivateNamespace()) {
    t.skip('shapes traffic on lo: runs only inside the loopback-only namespace (scripts/test)');
    return;
  }
  const judge = await page('judge');
  const h = await openHearingByApi(judge, 'WEAKLINK', 'MLA-2026-1414');
  const { page: witness, id: wid } = await inviteJoinAdmit(judge, 'Witness Weak Link', 'witness', () => page('witness'));
  const judgeId = await witness.waitForFunction(() => {
    const v = [...document.querySelectorAll('#grid video[data-participant]')].find((n) => n.srcObject);
    return v ? v.dataset.participant : null;
  }).then((x) => x.jsonValue());
  await expectVideoPlaying(witness, judgeId, 'witness sees the judge');
  const pair = await selectedPair(witness);
  assert.equal(pair.local.protocol, 'udp');

  unlimit = limitUdpDownlink(pair.local.port, { rate: '120kbit', latency: 800 });
  await witness.waitForSelector('#audio-only:not([hidden])', { timeout: 60_000 });
  await judge.waitForSelector(`figure[data-participant="${wid}"] .badge.audio-only:not([hidden])`);
  await waitLog(h, 'the fallback', (e) => e.type === 'audio_only_fallback' && e.participant === wid && e.active === true);
  // Audio only: the witness still hears the judge; no more pictures arrive (once the
  // repairs of what was lost before the fallback are over).
  await new Promise((r) => setTimeout(r, 5000));
  const a = await received(witness, judgeId);
  await new Promise((r) => setTimeout(r, 4000));
  const b = await received(witness, judgeId);
  assert.ok(b.audio.packets > a.audio.packets + 50, `audio still flows: ${JSON.stringify({ a, b })}`);
  assert.ok(b.video.frames - a.video.frames < 10, `no video meanwhile: ${JSON.stringify({ a, b })}`);
  await witness.screenshot({ path: join(ARTIFACTS, 'downlink-audio-only.png'), fullPage: true });

  // The link recovers: video is tried again and plays.
  unlimit();
  await witness.waitForSelector('#audio-only', { state: 'hidden', timeout: 60_000 });
  await until('the judge\'s video again', async () => {
    const c = await received(witness, judgeId);
    await new Promise((r) => setTimeout(r, 1500));
    const d = await received(witness, judgeId);
    return d.video.frames > c.video.frames + 5;
  });
  await waitLog(h, 'video tried again', (e) => e.type === 'audio_only_fallback' && e.participant === wid && e.active === false);
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
