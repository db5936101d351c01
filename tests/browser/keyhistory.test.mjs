// Key rotation in the in-browser verifier (#15 point 3): for every case of
// tests/key_history.rs (a hearing across a rotation pinned by the old key, the new key,
// the history or nothing; a stolen retired key; a forked history; an old key signing
// after its retirement; a forged history signature) the JS verifier, run in node, gives
// exactly the checks, codes and details of `sworn-verify --json` and the same exit code;
// and the page in Chromium accepts a pasted key history as the pin (VALID for a bundle
// sealed under a later key than the first).
//
// Environment: SWORN_KEYHISTORY_FIXTURES (written by `cargo test --test key_history` when
// missing), SWORN_VERIFY_BIN, SWORN_ARTIFACTS.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, normalize, extname } from 'node:path';
import { chromium } from 'playwright-core';
import { openZip } from '../../web/js/verify/zip.js';
import { verifyBundle, ioFailed } from '../../web/js/verify/bundle.js';
import { parsePublicKeyPem } from '../../web/js/verify/keys.js';
import { looksLikeHistory, parseHistoryText } from '../../web/js/verify/keyhistory.js';

const ROOT = join(import.meta.dirname, '..', '..');
const WEB = join(ROOT, 'web');
const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const FIXTURES = process.env.SWORN_KEYHISTORY_FIXTURES || join(ARTIFACTS, 'keyhistory-fixtures');
const TARGET = process.env.CARGO_TARGET_DIR || join(ROOT, 'target');
const BIN = process.env.SWORN_VERIFY_BIN || join(TARGET, 'debug', 'sworn-verify');
const CHROMIUM = process.env.SWORN_CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' };

let server;
let base;
let browser;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  if (!existsSync(join(FIXTURES, 'cases.json'))) {
    execFileSync('cargo', ['test', '--no-default-features', '--features', 'evidence', '--test', 'key_history'], {
      cwd: ROOT, stdio: 'inherit', env: { ...process.env, SWORN_KEYHISTORY_FIXTURES: FIXTURES }, timeout: 1_200_000,
    });
  }
  if (!existsSync(BIN)) {
    execFileSync('cargo', ['build', '--no-default-features', '--bin', 'sworn-verify'], { cwd: ROOT, stdio: 'inherit' });
  }
  server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = null;
    if (url.pathname === '/verify') file = join(WEB, 'verify.html');
    else if (url.pathname.startsWith('/static/')) {
      const rel = normalize(decodeURIComponent(url.pathname.slice(8)));
      if (!rel.startsWith('..')) file = join(WEB, rel);
    }
    if (!file || !existsSync(file)) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.close();
});

const cases = () => JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8'));

function exitCode(r) {
  if (ioFailed(r)) return 2;
  return { valid: 0, invalid: 1, valid_key_not_pinned: 3 }[r.verdict];
}

async function pinFrom(text) {
  if (looksLikeHistory(text)) return { trustedHistory: await parseHistoryText(text) };
  return { trustedKey: parsePublicKeyPem(text) };
}

test('every key-history case: the JS verifier reports exactly what sworn-verify reports', async () => {
  const list = cases();
  assert.ok(list.length >= 10);
  for (const c of list) {
    const zip = join(FIXTURES, c.zip);
    const args = ['--json', zip];
    if (c.trust) args.push('--trust', join(FIXTURES, c.trust));
    const ref = spawnSync(BIN, args, { encoding: 'utf8' });
    assert.equal(ref.status, c.exit, `${c.name}: sworn-verify exit`);
    const want = JSON.parse(ref.stdout).checks.map((k) => ({ name: k.name, status: k.status, code: k.error ? k.error.code : '', detail: k.detail }));
    const pin = c.trust ? await pinFrom(readFileSync(join(FIXTURES, c.trust), 'utf8')) : {};
    const report = await verifyBundle(await openZip(new Blob([readFileSync(zip)])), pin);
    const got = report.checks.map((k) => ({ name: k.name, status: k.status, code: k.error ? k.error.code : '', detail: k.detail }));
    assert.deepEqual(got, want, c.name);
    assert.equal(exitCode(report), c.exit, c.name);
  }
});

/** Verifies `zip` in the page with `trust` pasted as the pin; returns {verdict, text}. */
async function inPage(page, zip, trust) {
  await page.goto(`${base}/verify`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('html[data-state="ready"]');
  await page.click('details.pin summary');
  await page.fill('#trust', trust);
  await page.setInputFiles('#bundle', zip);
  await page.waitForSelector('html[data-state="done"]', { timeout: 120_000 });
  return {
    verdict: await page.evaluate(() => document.documentElement.dataset.verdict),
    text: await page.locator('#checks').innerText(),
  };
}

test('the page takes a pasted key history as the pin', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    const ok = await inPage(page, join(FIXTURES, 'rotated-pin-history.zip'), readFileSync(join(FIXTURES, 'rotated-pin-history.trust'), 'utf8'));
    assert.equal(ok.verdict, 'valid', ok.text);
    assert.match(ok.text, /keys\.history/);
    await page.screenshot({ path: join(ARTIFACTS, 'verify-key-history.png'), fullPage: true });
    // A forked history is refused with its own words.
    const fork = await inPage(page, join(FIXTURES, 'fork-pin-history.zip'), readFileSync(join(FIXTURES, 'fork-pin-history.trust'), 'utf8'));
    assert.equal(fork.verdict, 'invalid');
    assert.match(fork.text, /differs from the pinned key history/);
  } finally {
    await page.close();
  }
});
