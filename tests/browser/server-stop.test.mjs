// The server stops in the middle of a hearing (#13 point 8: `server_stopped`), as a
// ministry's operator restarts it for an upgrade: SIGTERM to a second `sworn serve` of
// its own (port 8091, its own data directory), with a judge and a witness in the hearing.
// The pages say the server is restarting (close code 1001), not "connection lost"; the
// server exits 0; started again, both pages reconnect by themselves, the witness waits in
// the waiting room, the judge admits them again and sees them; the hearing closes and
// seals, and its log and minutes say the server was stopped. Screenshots:
// test-artifacts/server-stop-*.png.
//
// Environment (scripts/browser-test): SWORN_BIN, SWORN_JUDGE_PASS, SWORN_ARTIFACTS.
// Loopback-only network namespace (scripts/test).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PORT = 8091;
const ORIGIN = `http://127.0.0.1:${PORT}`;
// support.mjs reads the server's address when it loads: point it at this server.
process.env.SWORN_BASE_URL = ORIGIN;
const S = await import('./support.mjs');

const BIN = process.env.SWORN_BIN || 'target/debug/sworn';
const PASS = process.env.SWORN_JUDGE_PASS || '';
const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const data = mkdtempSync(join(tmpdir(), 'sworn-stop-'));
const env = {
  ...process.env,
  SWORN_DATA_DIR: data,
  SWORN_BIND: `127.0.0.1:${PORT}`,
  SWORN_BASE_URL: ORIGIN,
  SWORN_LOG: 'warn',
};
const chromium = S.chromiumForFile(ARTIFACTS);
const problems = [];
let server = null;

function startServer() {
  const child = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited };
}

async function waitUp() {
  const deadline = Date.now() + S.T;
  for (;;) {
    try {
      const res = await fetch(`${ORIGIN}/signin`);
      if (res.ok) return;
    } catch (_e) { /* not listening yet */ }
    assert.ok(Date.now() < deadline, 'the server did not come up');
    await S.sleep(100);
  }
}

after(async () => {
  if (server) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  rmSync(data, { recursive: true, force: true });
});

const page = (name) => S.newContextPage(chromium.browser, name, { origin: ORIGIN, problems, contextOptions: { viewport: { width: 1280, height: 900 } }, timeout: S.T });

test('SIGTERM mid-hearing: the pages say the server restarts, reconnect, and the record says why', async () => {
  assert.ok(PASS, 'SWORN_JUDGE_PASS must be set');
  const add = spawnSync(BIN, ['user', 'add', '--username', 'judge', '--role', 'judge', '--password-stdin'], { env, input: PASS });
  assert.equal(add.status, 0, `user add: ${add.stderr}`);
  server = startServer();
  await waitUp();

  const judge = await page('judge');
  const h = await S.openHearingByApi(judge, 'STOP', 'MLA-2026-0808');
  const witness = await S.inviteJoinAdmit(judge, 'Witness Stop', 'witness', () => page('witness'));
  await S.expectVideoPlaying(judge, witness.id, 'judge sees the witness');

  // The operator stops the server: a graceful stop exits 0.
  server.child.kill('SIGTERM');
  const exit = await server.exited;
  server = null;
  assert.deepEqual(exit, { code: 0, signal: null }, 'a graceful stop exits 0');
  const w = witness.page;
  await w.waitForSelector('#reconnecting:not([hidden])');
  assert.match(await w.textContent('#reconnecting'), /server is restarting.*sealed/);
  await judge.waitForFunction(() => /server is restarting/.test(document.querySelector('#room-status').textContent));
  await w.screenshot({ path: join(ARTIFACTS, 'server-stop-witness.png'), fullPage: true });
  await judge.screenshot({ path: join(ARTIFACTS, 'server-stop-console.png'), fullPage: true });
  const stopped = S.hearingLog(h, data).filter((e) => e.type === 'server_stopped');
  assert.deepEqual(stopped.map((e) => [e.reason, e.unsealed]), [['SIGTERM', 0]]);

  // Back up: both pages reconnect by themselves; the judge admits the witness again.
  server = startServer();
  await waitUp();
  await w.waitForSelector('#s-lobby:not([hidden])', { timeout: 60_000 });
  await judge.waitForFunction(() => /server is back/.test(document.querySelector('#room-status').textContent), null, { timeout: 60_000 });
  await judge.$eval(`#lobby-list li[data-participant="${witness.id}"] button`, (b) => b.click());
  await w.waitForSelector('#s-hearing:not([hidden])');
  assert.ok(await w.isHidden('#reconnecting'), 'the notice is gone once back');
  await S.expectVideoPlaying(judge, witness.id, 'judge sees the witness again');
  await judge.screenshot({ path: join(ARTIFACTS, 'server-stop-back.png'), fullPage: true });

  // The hearing closes and seals; the minutes say the server was stopped.
  await S.endHearing(judge);
  await S.waitSealed(judge);
  const minutes = readFileSync(join(data, 'hearings', h, 'bundle', 'minutes', 'minutes.html'), 'utf8');
  assert.match(minutes, /the server was stopped \(SIGTERM\)/);
  assert.ok(!S.hearingLog(h, data).some((e) => e.type === 'recovered_after_interruption'), 'nothing to recover after a graceful stop');
  assert.deepEqual(problems.filter((p) => !/WebSocket|ERR_CONNECTION_REFUSED|net::/.test(p)), [], 'no page errors');
});
