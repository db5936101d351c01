// Interpretation channels in real browsers (#14 point 1). Two interpreters publish French
// channels from their pages ("Interpret"); while interpreting, their floor microphone is
// muted. The witness, whose page is in French, hears the French channel by default with
// the floor turned down; the judge (English) hears the floor. The second interpreter's
// channel reaches every page before the handover (standing by), so "Take over" only
// changes which received stream plays: no gap. The second interpreter listens to the
// first's channel (relay). The log labels each channel with its language and says which
// was on air when; each channel is its own recording, which the portal names
// "Interpretation into French (channel N), by …".
// Screenshots: test-artifacts/interp-*.png.
//
// Environment: SWORN_BASE_URL, SWORN_JUDGE_USER, SWORN_JUDGE_PASS, SWORN_DATA_DIR,
// SWORN_PROSECUTOR_USER/PASS, SWORN_ARTIFACTS. Loopback-only network namespace.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE, T, inviteJoinAdmit, chromiumForFile, newContextPage, openHearingByApi, minutesInPortal, revokeGrants, hearingLog as log, waitLog } from './support.mjs';

const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const chromium = chromiumForFile(ARTIFACTS);
const problems = [];

const page = (name) => newContextPage(chromium.browser, name, { origin: BASE, problems, contextOptions: { viewport: { width: 1280, height: 900 } }, timeout: T });

/** What a page plays: its listening choice, each channel element's state, the floor volume. */
function playing(p) {
  return p.evaluate(() => {
    const channels = {};
    for (const a of document.querySelectorAll('audio[data-channel]')) {
      const track = a.srcObject && a.srcObject.getAudioTracks()[0];
      channels[a.dataset.channel] = {
        muted: a.muted,
        // A received track is unmuted once RTP flows (media arriving).
        receiving: Boolean(track && track.readyState === 'live' && !track.muted),
      };
    }
    const floor = [...document.querySelectorAll('#grid audio')].map((a) => a.volume);
    return { listening: document.querySelector('#listen-select')?.value, channels, floor };
  });
}

async function until(p, what, pred) {
  const deadline = Date.now() + T;
  for (;;) {
    const state = await playing(p);
    if (pred(state)) return state;
    assert.ok(Date.now() < deadline, `${what}: ${JSON.stringify(state)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('interpreters publish, hand over without a gap and relay; listeners choose; the record labels each channel', async () => {
  assert.ok(process.env.SWORN_DATA_DIR, 'SWORN_DATA_DIR must name the server data directory');
  const judge = await page('judge');
  const h = await openHearingByApi(judge, 'INTERP', 'MLA-2026-1111');
  const { page: witness } = await inviteJoinAdmit(judge, 'Witness Interp', 'witness', () => page('witness'));
  await witness.selectOption('#lang-select', 'fr');
  const { page: a, id: aid } = await inviteJoinAdmit(judge, 'Interpreter A', 'interpreter', () => page('interp-a'));
  const { page: b, id: bid } = await inviteJoinAdmit(judge, 'Interpreter B', 'interpreter', () => page('interp-b'));
  assert.ok(await witness.isHidden('#interp-toggle'), 'a witness does not interpret');
  assert.ok(await witness.isHidden('#listen-field'), 'no channel yet: nothing to choose');

  // A interprets into French: on air; A's floor microphone is muted meanwhile.
  await a.selectOption('#interp-lang', 'fr');
  await a.click('#interp-toggle');
  await a.waitForSelector('#interp-status[data-state="on_air"]');
  assert.equal(await a.getAttribute('#toggle-mic', 'aria-pressed'), 'true', 'the floor microphone is muted');
  const sa = `${aid}-i1`;
  // The witness (French page) hears it by default, the floor turned down; the judge the floor.
  await until(witness, 'the witness hears A', (s) => s.listening === 'fr' && s.channels[sa]?.receiving
    && s.channels[sa].muted === false && s.floor.length > 0 && s.floor.every((v) => v < 0.5));
  await until(judge, 'the judge hears the floor', (s) => s.listening === 'floor' && s.channels[sa]?.receiving
    && s.channels[sa].muted === true && s.floor.every((v) => v === 1));
  await witness.screenshot({ path: join(ARTIFACTS, 'interp-witness.png'), fullPage: true });

  // B joins the booth: standing by. B's audio already reaches the witness's page, unplayed.
  await b.selectOption('#interp-lang', 'fr');
  await b.click('#interp-toggle');
  await b.waitForSelector('#interp-status[data-state="standing_by"]');
  await b.waitForSelector('#interp-take:not([hidden])');
  const sb = `${bid}-i2`;
  await until(witness, 'B reaches the witness before the handover', (s) => s.channels[sb]?.receiving
    && s.channels[sb].muted === true && s.channels[sa].muted === false);
  // Relay: B listens to A's channel.
  await b.selectOption('#listen-select', 'fr');
  await until(b, 'B hears A', (s) => s.listening === 'fr' && s.channels[sa]?.receiving && s.channels[sa].muted === false);
  await b.screenshot({ path: join(ARTIFACTS, 'interp-booth.png'), fullPage: true });

  // The handover: the witness's page switches streams it was already receiving.
  await b.click('#interp-take');
  await b.waitForSelector('#interp-status[data-state="on_air"]');
  await a.waitForSelector('#interp-status[data-state="standing_by"]');
  await until(witness, 'the witness hears B', (s) => s.channels[sb].muted === false && s.channels[sa].muted === true
    && s.channels[sb].receiving);

  // The witness may choose the floor instead.
  await witness.selectOption('#listen-select', 'floor');
  await until(witness, 'the witness hears the floor', (s) => Object.values(s.channels).every((c) => c.muted)
    && s.floor.every((v) => v === 1));

  // A stops: A's channel is gone everywhere, and A's floor microphone is back.
  await a.click('#interp-toggle');
  await until(witness, 'A gone', (s) => !(sa in s.channels));
  assert.equal(await a.getAttribute('#toggle-mic', 'aria-pressed'), 'false', 'the floor microphone is back');
  await new Promise((r) => setTimeout(r, 1500));

  await waitLog(h, 'the end of A', (e) => e.type === 'interpretation' && e.stream === sa && e.started === false);
  const entries = log(h);
  assert.deepEqual(entries.filter((e) => e.type === 'interpretation').map((e) => [e.participant, e.stream, e.language, e.started]),
    [[aid, sa, 'fr', true], [bid, sb, 'fr', true], [aid, sa, 'fr', false]]);
  assert.deepEqual(entries.filter((e) => e.type === 'interpretation_on_air').map((e) => [e.language, e.stream]), [['fr', sa], ['fr', sb]]);
  for (const s of [sa, sb]) await waitLog(h, `${s} recorded on its own`, (e) => e.type === 'media_chunk' && e.participant === s);

  // The portal names each channel's recording by its language.
  await minutesInPortal(judge, h, { keepGrant: true });
  const pros = await page('prosecutor-portal');
  const login = await pros.request.post(`${BASE}/api/login`, { data: { username: process.env.SWORN_PROSECUTOR_USER || 'prosecutor', password: process.env.SWORN_PROSECUTOR_PASS || '' } });
  assert.equal(login.status(), 200);
  await pros.goto(`${BASE}/portal/hearings/${h}`, { waitUntil: 'domcontentloaded' });
  await pros.waitForSelector('#record:not([hidden])');
  const names = await pros.$$eval('.recording-item .name', (n) => n.map((x) => x.textContent));
  for (const [n, who] of [[1, 'Interpreter A'], [2, 'Interpreter B']]) {
    assert.ok(names.some((x) => x.includes(`Interpretation into French (channel ${n}), by ${who}`)), `${n}: ${names.join(' | ')}`);
  }
  await pros.screenshot({ path: join(ARTIFACTS, 'interp-portal.png'), fullPage: true });
  await revokeGrants(judge, h);
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
