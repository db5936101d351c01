// A clerk in the hearing (#13 point 3): the clerk, invited with a link, marks moments
// from their page; the judge delegates the conduct to them from the participant list;
// the clerk's page then shows the conduct controls and the clerk locks and unlocks the
// waiting room; the judge ends the delegation and the clerk's page hides them again.
// The log holds the delegation, the clerk's lock and marker. Screenshots:
// test-artifacts/delegation-*.png.
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

const page = (name) => newContextPage(chromium.browser, name, { origin: BASE, problems, contextOptions: { viewport: { width: 1280, height: 900 } }, timeout: T });

test('the judge delegates the conduct to a clerk, who marks, locks and unlocks; then takes it back', async () => {
  assert.ok(process.env.SWORN_DATA_DIR, 'SWORN_DATA_DIR must name the server data directory');
  const judge = await page('judge');
  const h = await openHearingByApi(judge, 'DELEGATE', 'MLA-2026-1010');
  const { page: clerk, id: cid } = await inviteJoinAdmit(judge, 'Clerk Delegate', 'clerk', () => page('clerk'));

  // Before delegation: markers only.
  await clerk.waitForSelector('#court-section:not([hidden])');
  assert.ok(await clerk.isHidden('#court-conduct'), 'no conduct controls before delegation');
  await clerk.fill('#court-label', 'The witness asked for water');
  await clerk.click('#court-mark');
  await waitLog(h, 'the clerk marker', (e) => e.type === 'marker' && e.by === cid && e.label === 'The witness asked for water');

  // The judge delegates.
  await judge.click(`#people-list li[data-participant="${cid}"] button:has-text("Delegate conduct")`);
  await clerk.waitForSelector('#court-conduct:not([hidden])');
  assert.match(await clerk.textContent('#court-delegation'), /delegated the conduct of the hearing to you/);
  await judge.waitForSelector('#court-end-delegation:not([hidden])');
  await clerk.click('#court-lock');
  await judge.waitForFunction(() => document.querySelector('#court-state').textContent.includes('Waiting room locked'));
  await clerk.screenshot({ path: join(ARTIFACTS, 'delegation-clerk.png'), fullPage: true });
  await clerk.click('#court-lock');
  await judge.waitForFunction(() => document.querySelector('#court-state').textContent.includes('In session'));

  // The judge takes it back.
  await judge.click('#court-end-delegation');
  await clerk.waitForSelector('#court-conduct', { state: 'hidden' });
  await judge.screenshot({ path: join(ARTIFACTS, 'delegation-console.png'), fullPage: true });

  await waitLog(h, 'the end of the delegation', (e) => e.type === 'delegation' && e.active === false);
  const entries = log(h);
  assert.deepEqual(entries.filter((e) => e.type === 'delegation').map((e) => [e.participant, e.active]), [[cid, true], [cid, false]]);
  assert.deepEqual(entries.filter((e) => e.type === 'hearing_locked').map((e) => [e.locked, e.by]), [[true, cid], [false, cid]]);
  const minutes = await minutesInPortal(judge, h);
  assert.match(minutes, new RegExp(`delegated the conduct of the hearing to ${cid}`));
  assert.match(minutes, new RegExp(`ended the delegation of the conduct to ${cid}`));
  assert.match(minutes, /The witness asked for water \(marked by \w+\)/);
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
