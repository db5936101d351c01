// The committed tamper corpus (tests/vectors/tamper/, docs/bundle-format.md §13) against
// the in-browser verifier: every zip, read with web/js/verify/bundle.js in node, gives
// exactly what expected.json says (exit code, verdict, failures: check, code and fields
// less the free-text `reason`), pinned to court.pub.pem and, where stated, without a
// pinned key; a zip missing from expected.json (or an entry without its zip) fails; the
// browser's messages (errors.js) are exactly the codes of `sworn-verify --list-codes`
// (tests/vectors/tamper/golden/list-codes-json.txt, so no binary is needed); and the page
// (web/verify.html) in Chromium shows the verdict of clean, clean-export and a few
// tampered or unopenable zips. tests/verify_corpus.rs checks the same zips with the Rust
// verifier and sworn-verify.
//
// No server needed: a tiny static server of web/ with the server's CSP is started here
// (or SWORN_BASE_URL). Run it in a private network namespace:
//   unshare --net --fork -- bash -c 'ip link set lo up && exec "$@"' _ \
//     node --test tests/browser/corpus.test.mjs
// Environment: SWORN_CHROMIUM, SWORN_ARTIFACTS (screenshots), SWORN_BASE_URL.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, normalize, extname } from 'node:path';
import { chromium } from 'playwright-core';
import { openZip, ZipOpenError } from '../../web/js/verify/zip.js';
import { verifyBundle, ioFailed } from '../../web/js/verify/bundle.js';
import { parsePublicKeyPem } from '../../web/js/verify/keys.js';
import { CODES, message } from '../../web/js/verify/errors.js';

const ROOT = join(import.meta.dirname, '..', '..');
const WEB = join(ROOT, 'web');
const CORPUS = join(ROOT, 'tests', 'vectors', 'tamper');
const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const CHROMIUM = process.env.SWORN_CHROMIUM || '/usr/bin/chromium';
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
  + "media-src 'self' blob: mediastream:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };

const expected = JSON.parse(readFileSync(join(CORPUS, 'expected.json'), 'utf8'));
const courtPem = readFileSync(join(CORPUS, expected.trust), 'utf8');

let browser;
let server;
let base = process.env.SWORN_BASE_URL ? process.env.SWORN_BASE_URL.replace(/\/$/, '') : null;

/** BigInt fields (the JS verifier's u64s) as numbers, as JSON has them. */
const plain = (v) => JSON.parse(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? Number(x) : x)));

/** A failure as expected.json lists it: {check, code, fields} less `code` and `reason`. */
function failure(check, error) {
  const { code, reason, ...fields } = plain(error);
  return { check, code, fields };
}

/** Sorted keys, so two objects compare whatever order their fields were made in. */
const sortKeys = (v) => (Array.isArray(v) ? v.map(sortKeys)
  : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])) : v);

/** What the browser verifier gives for a corpus zip, in expected.json's shape. */
async function outcome(name, { pinned }) {
  let src;
  try {
    src = await openZip(new Blob([readFileSync(join(CORPUS, name))]));
  } catch (e) {
    if (e instanceof ZipOpenError) return { exit: 2, verdict: null, open_error: true, failures: [] };
    throw e;
  }
  const r = await verifyBundle(src, { trustedKey: pinned ? parsePublicKeyPem(courtPem) : null });
  const exit = ioFailed(r) ? 2 : { valid: 0, invalid: 1, valid_key_not_pinned: 3 }[r.verdict];
  for (const c of r.checks) if (c.error) message(c.error); // every failure has a message
  return { exit, verdict: r.verdict, failures: r.checks.filter((c) => c.error).map((c) => failure(c.name, c.error)) };
}

const verdictPart = ({ exit, verdict, failures, open_error: openError }) => sortKeys(
  openError === undefined ? { exit, verdict, failures } : { exit, verdict, failures, open_error: openError });

test('every corpus zip is in expected.json and every entry has its zip', () => {
  assert.equal(expected.format, 'sworn-tamper-corpus/1');
  const onDisk = readdirSync(CORPUS).filter((n) => n.endsWith('.zip')).sort();
  assert.deepEqual(onDisk, Object.keys(expected.bundles).sort());
  assert.ok(onDisk.length >= 60, `${onDisk.length} zips`);
});

test('the browser verifier (node) gives exactly what expected.json says for every corpus zip', async (t) => {
  let n = 0;
  for (const [name, want] of Object.entries(expected.bundles)) {
    assert.deepEqual(sortKeys(await outcome(name, { pinned: true })), verdictPart(want), name);
    if (want.unpinned) {
      assert.deepEqual(sortKeys(await outcome(name, { pinned: false })), verdictPart(want.unpinned), `${name} (unpinned)`);
    }
    n++;
  }
  t.diagnostic(`${n} zips`);
});

test("the page's messages are exactly sworn-verify --list-codes", () => {
  const golden = readFileSync(join(CORPUS, 'golden', 'list-codes-json.txt'), 'utf8');
  const json = golden.slice(golden.indexOf('\n') + 1, golden.lastIndexOf('[exit 0]'));
  const listed = JSON.parse(json).codes.map((c) => c.code);
  assert.deepEqual([...CODES].sort(), [...listed].sort());
  assert.equal(new Set(listed).size, listed.length);
});

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  if (!base) {
    server = createServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      let file = null;
      if (url.pathname === '/verify') file = join(WEB, 'verify.html');
      else if (url.pathname.startsWith('/static/')) {
        const rel = normalize(decodeURIComponent(url.pathname.slice(8)));
        if (!rel.startsWith('..')) file = join(WEB, rel);
      }
      if (!file || !existsSync(file)) { res.writeHead(404); res.end('not found'); return; }
      res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'content-security-policy': CSP });
      res.end(readFileSync(file));
    });
    await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${server.address().port}`;
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.close();
});

/** Opens the page, pins `trust` (PEM text) if given, verifies a corpus zip, returns what it shows. */
async function showInPage(name, { trust = courtPem } = {}) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('request', (r) => { if (!r.url().startsWith(base)) problems.push(`request outside the page's origin: ${r.url()}`); });
  await page.goto(`${base}/verify`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('html[data-state="ready"]');
  if (trust) {
    await page.click('details.pin summary');
    await page.fill('#trust', trust);
  }
  await page.setInputFiles('#bundle', join(CORPUS, name));
  await page.waitForSelector('html[data-state="done"]', { timeout: 120_000 });
  const shown = await page.evaluate(() => ({
    verdict: document.documentElement.dataset.verdict,
    verdictText: document.getElementById('verdict').textContent,
    rows: [...document.querySelectorAll('#checks tbody tr')].map((tr) => ({
      name: tr.dataset.name, status: tr.dataset.status, code: tr.dataset.code || '',
    })),
  }));
  await page.screenshot({ path: join(ARTIFACTS, `corpus-${name.replace(/\.zip$/, '')}.png`), fullPage: true });
  await page.close();
  assert.deepEqual(problems, [], `${name}: no page errors, CSP violations or outside requests`);
  return shown;
}

/** The page's verdict for an expected.json verdict / exit code. */
const PAGE_VERDICT = { valid: 'valid', valid_key_not_pinned: 'unpinned', invalid: 'invalid' };

test('the page shows the expected verdict and failing checks for clean, clean-export and tampered zips', async () => {
  const names = ['clean.zip', 'clean-export.zip', 'media-byte-flipped.zip', 'checkpoint-other-key.zip',
    'es256-attestation-signature-flipped.zip', 'custody-entry-edited.zip', 'forged-other-key.zip',
    'timestamp-before-entries.zip'];
  for (const name of names) {
    const want = expected.bundles[name];
    const shown = await showInPage(name);
    assert.equal(shown.verdict, PAGE_VERDICT[want.verdict], `${name}: ${shown.verdictText}`);
    const failing = shown.rows.filter((r) => r.status === 'fail').map((r) => [r.name, r.code]);
    assert.deepEqual(failing, want.failures.map((f) => [f.check, f.code]), name);
  }
  const unpinned = await showInPage('clean.zip', { trust: null });
  assert.equal(unpinned.verdict, PAGE_VERDICT[expected.bundles['clean.zip'].unpinned.verdict]);
});

test('the page refuses to open the zips sworn-verify cannot open', async () => {
  for (const name of ['zip-compressed-entry.zip', 'zip-overlapping-entries.zip']) {
    assert.equal(expected.bundles[name].exit, 2);
    const shown = await showInPage(name);
    assert.equal(shown.verdict, 'error', `${name}: ${shown.verdictText}`);
    assert.deepEqual(shown.rows, [], name);
  }
});
