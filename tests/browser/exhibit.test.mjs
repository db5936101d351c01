// Exhibits in real browsers (#13 point 6): the prosecutor's page shows a window (the
// test stands a canvas in for getDisplayMedia's screen, as the fake camera stands in for
// a camera) with "Show an exhibit"; the judge's console and the witness's page show it as
// "Exhibit 1, shown by …" with live video; it stops with "Stop showing the exhibit". The
// log says exhibit 1 was shown and stopped, and the exhibit has its own recorded file.
// A witness gets no such button. Screenshots: test-artifacts/exhibit-*.png.
//
// Environment: SWORN_BASE_URL, SWORN_JUDGE_USER, SWORN_JUDGE_PASS, SWORN_DATA_DIR,
// SWORN_ARTIFACTS. Loopback-only network namespace (scripts/test).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE, T, inviteJoinAdmit, chromiumForFile, newContextPage, openHearingByApi, minutesInPortal, hearingLog as log, waitLog } from './support.mjs';

const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const chromium = chromiumForFile(ARTIFACTS);
const problems = [];

// A "screen": a canvas with moving content, in place of the screen picker headless
// Chromium cannot show.
const fakeScreen = () => {
  navigator.mediaDevices.getDisplayMedia = async () => {
    const c = document.createElement('canvas');
    c.width = 640;
    c.height = 360;
    const g = c.getContext('2d');
    let n = 0;
    setInterval(() => {
      g.fillStyle = '#fff';
      g.fillRect(0, 0, 640, 360);
      g.fillStyle = '#123';
      g.font = '40px sans-serif';
      g.fillText(`Exhibit P-1, page ${1 + (n++ % 3)}`, 40, 180);
    }, 100);
    return c.captureStream(10);
  };
};

const page = (name, initScript = null) => newContextPage(chromium.browser, name, { origin: BASE, problems, initScript, contextOptions: { viewport: { width: 1280, height: 900 } }, timeout: T });

test('the prosecutor shows an exhibit; everyone sees it; it is logged and recorded on its own', async () => {
  assert.ok(process.env.SWORN_DATA_DIR, 'SWORN_DATA_DIR must name the server data directory');
  const judge = await page('judge');
  const h = await openHearingByApi(judge, 'EXHIBIT', 'MLA-2026-0909');
  const { page: witness } = await inviteJoinAdmit(judge, 'Witness Exhibit', 'witness', () => page('witness'));
  const { page: pros, id: pid } = await inviteJoinAdmit(judge, 'Prosecutor Exhibit', 'prosecutor', () => page('prosecutor', fakeScreen));
  assert.ok(await witness.isHidden('#exhibit-toggle'), 'a witness shows no exhibit');

  await pros.click('#exhibit-toggle');
  await pros.waitForFunction(() => document.querySelector('#exhibit-toggle').textContent.includes('Stop showing'));
  const stream = `${pid}-x1`;
  for (const p of [judge, witness]) {
    await p.waitForSelector(`figure[data-participant="${stream}"]:has-text("Exhibit 1, shown by Prosecutor Exhibit")`);
    await p.waitForFunction((id) => {
      const v = document.querySelector(`video[data-participant="${id}"]`);
      return v && v.videoWidth > 0 && !v.paused;
    }, stream, { timeout: T });
  }
  await judge.screenshot({ path: join(ARTIFACTS, 'exhibit-console.png'), fullPage: true });
  await witness.screenshot({ path: join(ARTIFACTS, 'exhibit-witness.png'), fullPage: true });
  await new Promise((r) => setTimeout(r, 2000));
  await pros.click('#exhibit-toggle');
  for (const p of [judge, witness]) await p.waitForSelector(`figure[data-participant="${stream}"]`, { state: 'detached' });

  await waitLog(h, 'the end of the exhibit', (e) => e.type === 'exhibit' && e.started === false);
  const ex = log(h).filter((e) => e.type === 'exhibit');
  assert.deepEqual(ex.map((e) => [e.number, e.participant, e.stream, e.started]), [[1, pid, stream, true], [1, pid, stream, false]]);
  // The recorder commits the exhibit's last bytes when its connection closes, after the
  // stop entry: wait for its chunk rather than reading the log once.
  await waitLog(h, 'the exhibit recorded as its own file', (e) => e.type === 'media_chunk' && e.participant === stream);
  const minutes = await minutesInPortal(judge, h);
  assert.match(minutes, new RegExp(`exhibit 1 shown by ${pid} \\(recorded as stream ${stream}\\)`));
  assert.match(minutes, new RegExp(`exhibit 1 no longer shown by ${pid}`));
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
