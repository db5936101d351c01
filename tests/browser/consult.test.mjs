// Private consultation in real browsers (#13 point 4): the witness asks the court, from
// their page, for a private word with the defence; the judge's console shows the request
// and opens the consultation; both pages say they are in private (nobody else hears them,
// nothing is recorded) and the console shows "in private consultation"; the judge ends
// it and both pages return to the hearing. The log holds who, when and who asked.
// Screenshots go to test-artifacts/consult-*.png.
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

test('the witness asks for a private word with the defence; the court opens and ends it; the record says so', async () => {
  assert.ok(process.env.SWORN_DATA_DIR, 'SWORN_DATA_DIR must name the server data directory');
  const judge = await page('judge');
  const h = await openHearingByApi(judge, 'CONSULT', 'MLA-2026-0808');
  const { page: witness, id: wid } = await inviteJoinAdmit(judge, 'Witness Private', 'witness', () => page('witness'));
  const { page: defence, id: did } = await inviteJoinAdmit(judge, 'Defence Private', 'defence', () => page('defence'));

  // The witness asks.
  const ask = witness.locator('#consult-actions button', { hasText: 'Defence Private' });
  await ask.waitFor();
  await ask.click();
  await witness.waitForSelector('#consult-actions button[disabled]');
  await judge.waitForSelector('#consult-requests button');
  assert.match(await judge.textContent('#consult-requests'), /Witness Private asks for a private consultation with Defence Private/);
  await judge.click('#consult-requests button');

  // Both pages are in private; the console says so.
  await witness.waitForSelector('#consultation:not([hidden])');
  await defence.waitForSelector('#consultation:not([hidden])');
  assert.match(await witness.textContent('#consultation'), /Private consultation with Defence Private: only you hear and see each other, and nothing is recorded/);
  await judge.waitForSelector('#consult-state:not([hidden])');
  assert.match(await judge.textContent('#consult-state'), /Witness Private, Defence Private/);
  await judge.waitForSelector(`#people-list li[data-participant="${wid}"]:has-text("in private consultation")`);
  await witness.screenshot({ path: join(ARTIFACTS, 'consult-witness.png'), fullPage: true });
  await judge.screenshot({ path: join(ARTIFACTS, 'consult-console.png'), fullPage: true });

  // The judge ends it: both are back in the hearing.
  await judge.click('#consult-end');
  await witness.waitForSelector('#consultation', { state: 'hidden' });
  await defence.waitForSelector('#consultation', { state: 'hidden' });
  await judge.waitForSelector('#consult-state', { state: 'hidden' });

  await waitLog(h, 'the end of the consultation', (e) => e.type === 'consultation' && e.started === false);
  const cons = log(h).filter((e) => e.type === 'consultation');
  assert.equal(cons.length, 2);
  assert.deepEqual(cons.map((e) => [e.started, e.asked_by]), [[true, wid], [false, wid]]);
  assert.deepEqual(cons[0].participants, [wid, did]);
  const minutes = await minutesInPortal(judge, h);
  assert.match(minutes, new RegExp(`opened a private consultation, neither forwarded to the others nor recorded \\(asked by ${wid}\\): ${wid}, ${did}`));
  assert.match(minutes, /ended the private consultation; recording resumed/);
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
