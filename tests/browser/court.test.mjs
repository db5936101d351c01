// Court controls in real browsers (#13 point 3): from the console the judge locks the
// waiting room (a newcomer's page ends "closed to newcomers"), unlocks it, declares a
// recess with a reason (the witness's page shows it) and resumes, marks a moment, mutes
// everyone (the witness is told) and stops the witness's video (the witness is told).
// The hearing's log, read from the server's data directory, holds each step, and the
// signed minutes the prosecutor reads in the portal once it is sealed show each one.
// Screenshots go to test-artifacts/court-*.png.
//
// Environment: SWORN_BASE_URL, SWORN_JUDGE_USER, SWORN_JUDGE_PASS, SWORN_DATA_DIR,
// SWORN_ARTIFACTS. Loopback-only network namespace (scripts/test).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE, T, invite, joinFromLink, inviteJoinAdmit, chromiumForFile, newContextPage, openHearingByApi, minutesInPortal, hearingLog as log, waitLog } from './support.mjs';

const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const chromium = chromiumForFile(ARTIFACTS);
const problems = [];

const page = (name) => newContextPage(chromium.browser, name, { origin: BASE, problems, contextOptions: { viewport: { width: 1280, height: 900 } }, timeout: T });

test('the judge locks, recesses, resumes, marks, mutes everyone and stops a video; all on the record', async () => {
  assert.ok(process.env.SWORN_DATA_DIR, 'SWORN_DATA_DIR must name the server data directory');
  const judge = await page('judge');
  const h = await openHearingByApi(judge, 'COURT', 'MLA-2026-0707');
  await judge.waitForSelector('#court-section:not([hidden])');
  const { page: witness, id: wid } = await inviteJoinAdmit(judge, 'Witness Court', 'witness', () => page('witness'));

  // Lock: a newcomer is turned away.
  await judge.click('#court-lock');
  await judge.waitForFunction(() => document.querySelector('#court-state').textContent.includes('Waiting room locked'));
  const link = await invite(judge, 'Late Official', 'official');
  const late = await page('late official');
  await joinFromLink(late, link);
  await late.waitForSelector('#s-end:not([hidden])');
  assert.match(await late.textContent('#end-title'), /closed to newcomers/);
  await late.screenshot({ path: join(ARTIFACTS, 'court-locked-newcomer.png'), fullPage: true });
  await waitLog(h, 'join_refused hearing_locked', (e) => e.type === 'join_refused' && e.reason === 'hearing_locked');
  await judge.click('#court-lock');
  await judge.waitForFunction(() => document.querySelector('#court-state').textContent.includes('In session'));

  // A reason is required; then the recess shows on the witness's page.
  await judge.click('#court-recess');
  assert.match(await judge.textContent('#court-status'), /Give the reason/);
  await judge.fill('#court-reason', 'The interpreter needs a break');
  await judge.click('#court-recess');
  await witness.waitForSelector('#recess:not([hidden])');
  assert.match(await witness.textContent('#recess'), /in recess: The interpreter needs a break/);
  await judge.waitForFunction(() => document.querySelector('#court-recess').textContent.includes('Resume'));
  await witness.screenshot({ path: join(ARTIFACTS, 'court-recess-witness.png'), fullPage: true });
  await judge.screenshot({ path: join(ARTIFACTS, 'court-recess-console.png'), fullPage: true });
  await judge.fill('#court-reason', 'The interpreter is back');
  await judge.click('#court-recess');
  await witness.waitForSelector('#recess', { state: 'hidden' });

  // A marker.
  await judge.fill('#court-label', 'Exhibit P-3 shown to the witness');
  await judge.click('#court-mark');
  await judge.waitForFunction(() => document.querySelector('#court-status').textContent.includes('Marked'));

  // Mute everyone; stop the witness's video.
  await judge.click('#court-mute-all');
  await witness.waitForSelector('#court-muted:not([hidden])');
  await judge.click(`#people-list li[data-participant="${wid}"] button:has-text("Stop video")`);
  await witness.waitForSelector('#court-video:not([hidden])');
  await judge.waitForSelector(`#people-list li[data-participant="${wid}"]:has-text("video stopped by the court")`);
  await witness.screenshot({ path: join(ARTIFACTS, 'court-muted-video-stopped.png'), fullPage: true });

  // The record.
  await waitLog(h, 'video_stopped', (e) => e.type === 'video_stopped' && e.participant === wid && e.stopped);
  const entries = log(h);
  const types = entries.map((e) => e.type);
  for (const t of ['hearing_locked', 'recess', 'marker', 'mute', 'video_stopped', 'join_refused']) assert.ok(types.includes(t), `log has ${t}`);
  const recess = entries.filter((e) => e.type === 'recess');
  assert.deepEqual(recess.map((e) => [e.started, e.reason]), [[true, 'The interpreter needs a break'], [false, 'The interpreter is back']]);
  assert.ok(entries.some((e) => e.type === 'marker' && e.label === 'Exhibit P-3 shown to the witness' && typeof e.by === 'string'));
  assert.ok(entries.some((e) => e.type === 'mute' && e.participant === wid && e.muted && e.by_court));

  // Sealed, the signed minutes a prosecutor reads in the portal carry each step.
  const minutes = await minutesInPortal(judge, h);
  for (const line of [/the waiting room was locked \(newcomers turned away\)/, /the waiting room was unlocked/,
    /recess declared by \w+: The interpreter needs a break/, /hearing resumed by \w+: The interpreter is back/,
    /Exhibit P-3 shown to the witness \(marked by \w+\)/, new RegExp(`stopped the video of ${wid}`), new RegExp(`${wid} muted by the court`)]) {
    assert.match(minutes, line);
  }
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
