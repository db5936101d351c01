// The request on record, the device check and rehearsals in real browsers (#13 points
// 1, 5, 7). The judge schedules from the console with the States chosen from the ISO
// 3166-1 list, the central authorities and the date of the request; the hearing room and
// the witness's join page show them by name. The witness plays the test tone, says they
// heard it and joins; their device check goes on record (`device_check`, read from the
// server's data directory). A rehearsal is marked "not evidence" on the console list,
// the hearing room and the join page, records nothing and leaves nothing in the evidence
// store when it ends. Screenshots go to test-artifacts/request-*.png.
//
// Environment: SWORN_BASE_URL, SWORN_JUDGE_USER, SWORN_JUDGE_PASS, SWORN_DATA_DIR,
// SWORN_ARTIFACTS. Loopback-only network namespace (scripts/test).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { BASE, T, signIn, invite, inviteJoinAdmit, chromiumForFile, newContextPage, endHearing, minutesInPortal, hearingLog as log, waitLog } from './support.mjs';
import { decodeEntry, checkFields } from '../../web/js/verify/entry.js';

const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const chromium = chromiumForFile(ARTIFACTS);
const problems = [];
const USER = process.env.SWORN_JUDGE_USER || 'judge';
const PASS = process.env.SWORN_JUDGE_PASS || '';

const page = (name) => newContextPage(chromium.browser, name, { origin: BASE, problems, contextOptions: { viewport: { width: 1280, height: 900 } }, timeout: T });
const shot = (p, name) => p.screenshot({ path: join(ARTIFACTS, `request-${name}.png`), fullPage: true });

async function schedule(judge, caseRef, { rehearsal = false } = {}) {
  await judge.goto(`${BASE}/console`, { waitUntil: 'domcontentloaded' });
  await judge.waitForSelector('#requesting_state option[value="FR"]', { state: 'attached' });
  await judge.fill('#case_ref', caseRef);
  await judge.fill('#mla_ref', 'MLA-2026-0113');
  await judge.selectOption('#requesting_state', 'FR');
  await judge.selectOption('#requested_state', 'ES');
  await judge.fill('#requesting_authority', 'Ministère de la Justice (BEPI)');
  await judge.fill('#requesting_reference', 'BEPI-2026-118');
  await judge.fill('#requested_authority', 'Ministerio de Justicia');
  await judge.fill('#request_date', '2026-11-02');
  if (rehearsal) await judge.check('#rehearsal');
  await shot(judge, rehearsal ? 'console-rehearsal-form' : 'console-form');
  await judge.click('#schedule-submit');
  await judge.waitForURL(/\/console\/hearings\/[0-9a-f]+$/, { timeout: T });
  return judge.url().split('/').pop();
}

test('the request is chosen from ISO 3166 and shown by name; the device check goes on record', async () => {
  assert.ok(PASS && process.env.SWORN_DATA_DIR, 'SWORN_JUDGE_PASS and SWORN_DATA_DIR must be set');
  const judge = await page('judge');
  await signIn(judge, USER, PASS);
  // An unknown State cannot be sent: the form needs a choice from the list.
  const h = await schedule(judge, `REQ-${Date.now()}`);
  await judge.waitForFunction(() => document.querySelector('#request').textContent.includes('France'));
  const line = await judge.textContent('#request');
  assert.equal(line, 'Request of France (Ministère de la Justice (BEPI), BEPI-2026-118) to Spain (Ministerio de Justicia), dated 2026-11-02');
  assert.match(await judge.textContent('#meta'), /France → Spain/);
  assert.ok(await judge.isHidden('#rehearsal-banner'));
  await judge.click('#open-hearing');
  await judge.waitForSelector('#recording:not([hidden])');

  const link = await invite(judge, 'Witness Request', 'witness');
  const witness = await page('witness');
  await witness.goto(link, { waitUntil: 'domcontentloaded' });
  await witness.waitForSelector('#s-check:not([hidden])');
  await witness.waitForFunction(() => document.querySelector('#check-request').textContent.includes('France'));
  assert.match(await witness.textContent('#check-intro'), /court of France/);
  assert.ok(await witness.isVisible('#recorded-notice'));
  assert.ok(await witness.isHidden('#rehearsal-notice'));
  await witness.waitForFunction(() => document.querySelector('#preview').videoWidth > 0);
  await witness.click('#speaker-test');
  await witness.check('#speaker-heard');
  await shot(witness, 'join-check');
  await witness.click('#join-button');
  await witness.waitForSelector('#s-lobby:not([hidden])');
  const entry = await judge.waitForSelector('#lobby-list li:has-text("Witness Request")');
  const wid = await entry.getAttribute('data-participant');
  await entry.$eval('button', (b) => b.click());
  await witness.waitForSelector('#s-hearing:not([hidden])');

  const check = await waitLog(h, 'device_check', (e) => e.type === 'device_check' && e.participant === wid, 60_000);
  assert.equal(check.camera, 'ok', 'the fake camera works');
  assert.equal(check.speaker, 'ok', 'the witness said they heard the tone');
  assert.ok(['ok', 'not_tested'].includes(check.microphone));
  assert.ok(Number.isInteger(check.rtt_ms) && check.rtt_ms >= 0 && check.rtt_ms <= 60000, `rtt ${check.rtt_ms}`);
  const opened = log(h)[0];
  assert.deepEqual(
    [opened.requesting_state, opened.requested_state, opened.requesting_authority, opened.requested_authority, opened.request_date],
    ['FR', 'ES', 'Ministère de la Justice (BEPI)', 'Ministerio de Justicia', '2026-11-02'],
  );
  await shot(witness, 'witness-in-hearing');
  await shot(judge, 'hearing-room');
  // Sealed, the minutes the prosecutor reads in the portal state the request and list
  // the device check among the technical conditions.
  const minutes = await minutesInPortal(judge, h);
  assert.match(minutes, /<tr><th>Requesting State<\/th><td>France \(FR\)<\/td><\/tr>/);
  assert.match(minutes, /<tr><th>Central authority of the requested State<\/th><td>Ministerio de Justicia<\/td><\/tr>/);
  assert.match(minutes, /<tr><th>Date of the request<\/th><td>2026-11-02<\/td><\/tr>/);
  assert.match(minutes, new RegExp(`device check of ${wid}: camera ok, microphone (ok|not tested), speaker ok, round trip \\d+ ms`));
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});

test('a rehearsal is marked as not evidence on every page and leaves nothing', async () => {
  const judge = await page('judge rehearsal');
  await signIn(judge, USER, PASS);
  const h = await schedule(judge, `REH-${Date.now()}`, { rehearsal: true });
  await judge.waitForSelector('#rehearsal-banner:not([hidden])');
  assert.match(await judge.textContent('#rehearsal-banner'), /Rehearsal — not evidence/);
  await judge.click('#open-hearing');
  await judge.waitForSelector('#close-hearing:not([hidden])');
  assert.ok(await judge.isHidden('#recording'), 'no "Recording" badge');

  const list = await page('console list');
  await signIn(list, USER, PASS);
  await list.waitForSelector(`#hearing-rows tr.rehearsal a[href$="${h}"]`);
  assert.match(await list.textContent('#hearing-rows tr.rehearsal'), /Rehearsal — not evidence/);
  await shot(list, 'rehearsal-console-list');

  const { page: witness } = await inviteJoinAdmit(judge, 'Witness Practice', 'witness', () => page('witness rehearsal'));
  assert.ok(await witness.isVisible('#rehearsal-notice'), 'the join page says it is a rehearsal');
  assert.ok(await witness.isHidden('#recorded-notice'), 'and not that it is recorded');
  await shot(witness, 'rehearsal-witness');
  await shot(judge, 'rehearsal-room');

  assert.equal(existsSync(join(process.env.SWORN_DATA_DIR, 'hearings', h)), false, 'nothing in the evidence store');
  const scratch = join(process.env.SWORN_DATA_DIR, 'rehearsals', 'hearings', h);
  assert.ok(existsSync(join(scratch, 'log')), 'a scratch log while it runs');
  // The witness's device check goes out after the first connection-quality sample with
  // a round trip: by then their media flows. A hearing's recorder would have made its
  // files on admission; a rehearsal makes none.
  const scratchLog = join(scratch, 'log', 'entries.jsonl');
  const deadline = Date.now() + 60_000;
  while (!readFileSync(scratchLog, 'utf8').includes('"device_check"')) {
    assert.ok(Date.now() < deadline, 'the device check reached the scratch log');
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(readdirSync(join(scratch, 'media')), [], 'no recording');
  await endHearing(judge);
  await judge.waitForFunction(() => document.querySelector('#seal-progress')?.dataset.stage === 'discarded', null, { timeout: 60_000 });
  assert.match(await judge.textContent('#seal-stage'), /nothing was kept/);
  assert.equal(existsSync(scratch), false, 'the scratch log is deleted');
  assert.equal(existsSync(join(process.env.SWORN_DATA_DIR, 'hearings', h)), false, 'no bundle');
  assert.ok(await judge.isHidden('#grants-section'), 'nothing to grant');
  await shot(judge, 'rehearsal-ended');
  assert.deepEqual(problems.splice(0), [], 'no page errors');
});

test('the in-browser verifier knows the new fields and device_check, and fails closed', () => {
  const enc = (o) => new TextEncoder().encode(JSON.stringify(Object.fromEntries(Object.entries(o).sort())));
  const common = { v: 1, hearing: 'h', seq: 0, time: '2026-11-29T17:30:00.000Z' };
  const opened = decodeEntry(enc({ ...common, type: 'hearing_opened', case_ref: 'c', requesting_state: 'FR', requesting_authority: 'A', request_date: '2026-11-02' }));
  assert.equal(opened.entry.requesting_authority, 'A');
  assert.equal(checkFields(opened.entry), null);
  const badDate = decodeEntry(enc({ ...common, type: 'hearing_opened', case_ref: 'c', request_date: '2027-02-29' }));
  assert.match(checkFields(badDate.entry), /bad request date/);
  const dc = { ...common, type: 'device_check', participant: 'p', camera: 'ok', microphone: 'failed', speaker: 'not_tested', rtt_ms: 5 };
  const ok = decodeEntry(enc(dc));
  assert.equal(ok.entry.rtt_ms, 5n);
  assert.equal(checkFields(ok.entry), null);
  assert.match(checkFields(decodeEntry(enc({ ...dc, camera: 'great' })).entry), /unknown result/);
  assert.equal(decodeEntry(enc({ ...dc, rtt_ms: -1 })).error, 'malformed');
  assert.equal(decodeEntry(enc({ ...dc, extra: 1 })).error, 'malformed');
  assert.equal(decodeEntry(enc({ ...common, type: 'device_checked', participant: 'p' })).error, 'malformed', 'unknown types still fail');
});
