// A leaked invitation link (issue #12, scenario 1) in real browsers: the witness's
// browser binds the link with its WebCrypto key. A second browser (its own storage, so
// its own key) opening the same link lands in the waiting room with a notice, the
// witness stays in the hearing undisturbed, the judge's console shows the other device
// with accept / refuse, refusing ends the other page; the witness's own browser reloads
// and is back in the hearing straight away by signing the server's challenge.
//
// Environment: SWORN_BASE_URL, SWORN_JUDGE_USER, SWORN_JUDGE_PASS, SWORN_ARTIFACTS.
// Loopback-only network namespace (scripts/test).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE, T, invite, joinFromLink, chromiumForFile, newContextPage, openHearingByApi } from './support.mjs';

const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const chromium = chromiumForFile(ARTIFACTS);
const problems = [];

const page = (name) => newContextPage(chromium.browser, name, { origin: BASE, problems, contextOptions: { viewport: { width: 1280, height: 860 } }, timeout: T });

test('a second device on the same link waits for the court; the witness keeps their seat', async () => {
  const judge = await page('judge');
  await openHearingByApi(judge, 'DEVICE', 'MLA-2026-0412');
  const link = await invite(judge, 'Witness Bound', 'witness');

  const witness = await page('witness');
  await joinFromLink(witness, link);
  await witness.waitForSelector('#s-lobby:not([hidden])');
  const entry = await judge.waitForSelector('#lobby-list li:has-text("Witness Bound")');
  const id = await entry.getAttribute('data-participant');
  await judge.$eval(`#lobby-list li[data-participant="${id}"] button`, (b) => b.click());
  await witness.waitForSelector('#s-hearing:not([hidden])');

  // Someone else opens the same link in another browser.
  const other = await page('other device');
  await joinFromLink(other, link);
  await other.waitForSelector('#s-lobby:not([hidden]) #lobby-other-device:not([hidden])');
  const waiting = await judge.waitForSelector('#lobby-list li.other-device');
  assert.match(await waiting.textContent(), /Another device asks to join as Witness Bound/);
  assert.match(await judge.textContent('#room-status'), /Another device is trying to join as Witness Bound/);
  await judge.screenshot({ path: join(ARTIFACTS, 'device-console-alert.png'), fullPage: true });
  await other.screenshot({ path: join(ARTIFACTS, 'device-other-lobby.png'), fullPage: true });
  // The witness was not disturbed.
  assert.ok(await witness.isVisible('#s-hearing'), 'the witness is still in the hearing');
  assert.ok(await witness.isHidden('#reconnecting'), 'the witness did not lose the connection');

  // The court refuses the other device: its page ends, the witness stays.
  await judge.click('#lobby-list li.other-device button:has-text("Refuse")');
  await other.waitForSelector('#s-end:not([hidden])');
  assert.match(await other.textContent('#s-end'), /The court did not accept this device/);
  await judge.waitForSelector('#lobby-list li.other-device', { state: 'detached' });
  assert.ok(await witness.isVisible('#s-hearing'), 'the witness is still in the hearing');

  // The witness's own browser reloads: it proves its key and goes straight back in.
  await joinFromLink(witness, link);
  await witness.waitForSelector('#s-hearing:not([hidden])');
  assert.ok(await witness.isHidden('#lobby-other-device'), 'no other-device notice for the bound browser');
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});
