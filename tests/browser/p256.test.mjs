// Any browser (issue #15 point 4): a witness whose browser has no WebCrypto Ed25519 (an
// init script makes `generateKey` refuse it, as Safari before 17 and older Chromium do)
// gets an ECDSA P-256 attestation key instead: it joins, is admitted, reloads and proves
// its device with the P-256 key, and takes the oath. The sealed record binds the key
// with `alg: "ES256"`; the oath verifies with node:crypto (an independent ECDSA) and
// under both verifiers (`sworn-verify --json` and the in-browser verifier's modules run
// in node: the same checks and verdict); with the oath's signature changed (in the log
// and its .sig alike) both fail the attestations check on the signature itself.
//
// Environment (scripts/browser-test): SWORN_BASE_URL, SWORN_JUDGE_USER/PASS, SWORN_BIN,
// SWORN_DATA_DIR, SWORN_ARTIFACTS. Loopback-only network namespace.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import {
  BASE, T, administerOath, endHearing, inviteJoinAdmit, joinFromLink, chromiumForFile, newContextPage,
  openHearingByApi, storedKey, waitSealed,
} from './support.mjs';
import { verifyBundle } from '../../web/js/verify/bundle.js';
import { checkFields } from '../../web/js/verify/entry.js';
import { parseParticipantKey } from '../../web/js/verify/keys.js';

const ARTIFACTS = process.env.SWORN_ARTIFACTS || join(process.cwd(), 'test-artifacts');
const DATA = process.env.SWORN_DATA_DIR || '';
const BIN = process.env.SWORN_BIN || '';
// The standalone verifier next to the server binary: it pins nothing (`sworn verify` on
// the server may pin the server's own key), as the JS verifier here.
const VERIFY_BIN = BIN && join(dirname(BIN), 'sworn-verify');
const chromium = chromiumForFile(ARTIFACTS);
const problems = [];

/** Runs before the page's scripts: this browser "has no Ed25519". */
function noEd25519() {
  const subtle = crypto.subtle;
  const generateKey = subtle.generateKey.bind(subtle);
  const isEd = (alg) => String(typeof alg === 'string' ? alg : alg && alg.name).toLowerCase() === 'ed25519';
  subtle.generateKey = (alg, ...rest) => (isEd(alg)
    ? Promise.reject(new DOMException('Unrecognized algorithm name', 'NotSupportedError'))
    : generateKey(alg, ...rest));
}

const page = (name, initScript = null) => newContextPage(chromium.browser, name, {
  origin: BASE, problems, initScript, contextOptions: { viewport: { width: 1280, height: 860 } }, timeout: T,
});

/** A bundle directory as the verifier's source (paths, size, readRange, stream, read). */
function dirSource(root) {
  const files = new Map();
  const walk = (d) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(root, p).split('\\').join('/'), p);
    }
  };
  walk(root);
  const bytes = (path) => {
    const f = files.get(path);
    if (!f) throw new Error('not in bundle');
    return new Uint8Array(readFileSync(f));
  };
  return {
    paths: () => [...files.keys()],
    size: (path) => (files.has(path) ? statSync(files.get(path)).size : null),
    readRange: async (path, start, end) => bytes(path).slice(start, end),
    stream: async (path, onPiece) => { const b = bytes(path); await onPiece(b, b.length, b.length); },
    read: async (path) => bytes(path),
  };
}

/** Both verifiers on a bundle directory: [{name, status}] of each, and the verdicts. */
async function bothVerifiers(bundle) {
  const r = spawnSync(VERIFY_BIN, ['--json', bundle], { encoding: 'utf8', timeout: 300_000 });
  const rust = JSON.parse(r.stdout);
  const js = await verifyBundle(dirSource(bundle), {});
  const rows = (checks) => checks.map((c) => ({ name: c.name, status: c.status, code: c.error ? (c.error.code ?? Object.keys(c.error)[0]) : '' }));
  return { code: r.status, rust, js, rustRows: rows(rust.checks), jsRows: rows(js.checks) };
}

test('the JS verifier: key_bound alg absent = Ed25519, ES256 = P-256, anything else fails closed as in Rust', () => {
  const kb = (alg) => ({ type: 'key_bound', participant: 'p', public_key: 'k', ...(alg ? { alg } : {}) });
  assert.equal(checkFields(kb()), null);
  assert.equal(checkFields(kb('ES256')), null);
  // The same text as src/verify/entry.rs's test.
  assert.equal(checkFields(kb('ML-DSA-65')), 'key_bound: unsupported key algorithm "ML-DSA-65" (known: Ed25519, ES256)');
  const point = Buffer.from('046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5', 'hex');
  assert.equal(parseParticipantKey('ES256', point.toString('base64url')).alg, 'ES256');
  const bad = Buffer.from(point);
  bad[64] ^= 1;
  assert.throws(() => parseParticipantKey('ES256', bad.toString('base64url')), /not a P-256 public key/);
  assert.throws(() => parseParticipantKey('ES256', point.subarray(0, 33).toString('base64url')), /not a P-256 public key/);
  assert.throws(() => parseParticipantKey(undefined, point.toString('base64url')), /Ed25519/);
  assert.throws(() => parseParticipantKey('RS256', point.toString('base64url')), /unsupported key algorithm "RS256"/);
});

test('without WebCrypto Ed25519 the witness signs with ECDSA P-256; the oath verifies in both verifiers', async () => {
  assert.ok(DATA && BIN, 'SWORN_DATA_DIR and SWORN_BIN must be set');
  const judge = await page('judge');
  const hearing = await openHearingByApi(judge, 'P256', 'MLA-2026-1504');
  const { page: witness, id } = await inviteJoinAdmit(judge, 'Witness Legacy', 'witness', () => page('witness', noEd25519));
  // The page really had no Ed25519, and kept a non-extractable P-256 key.
  assert.equal(await witness.evaluate(() => crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign']).then(() => 'made', () => 'refused')), 'refused');
  const key = await storedKey(witness);
  assert.deepEqual({ alg: key.alg, extractable: key.extractable, privateExported: key.privateExported, count: key.count },
    { alg: 'ECDSA', extractable: false, privateExported: false, count: 1 });
  assert.equal(key.publicKey.length, 130, 'uncompressed P-256 point (65 bytes)');

  // It reloads: the server's challenge is answered with an ECDSA signature, and the
  // witness is straight back in the hearing.
  await joinFromLink(witness, witness.url());
  await witness.waitForSelector('#s-hearing:not([hidden])');
  assert.ok(await witness.isHidden('#lobby-other-device'), 'recognised as the bound device');

  // The oath, signed with the P-256 key.
  await administerOath(judge, witness, id, 'oath');
  const oathText = await witness.textContent('#oath-text');
  await witness.click('#oath-sign');
  await witness.waitForFunction(() => document.querySelector('#attest-status').textContent === 'Oath recorded.');
  await judge.waitForSelector(`#record-list li[data-kind="oath"][data-participant="${id}"]`);
  await witness.screenshot({ path: join(ARTIFACTS, 'p256-witness-oath-recorded.png'), fullPage: true });

  await endHearing(judge);
  await waitSealed(judge);
  assert.deepEqual(problems.splice(0), [], 'no page errors');

  // The record: the witness's key_bound names ES256 and the key the browser made.
  const bundle = join(DATA, 'hearings', hearing, 'bundle');
  const log = readFileSync(join(bundle, 'log', 'entries.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const publicKey = Buffer.from(key.publicKey, 'hex').toString('base64url');
  const bound = log.filter((e) => e.type === 'key_bound' && e.participant === id);
  assert.deepEqual(bound.map((e) => [e.alg, e.public_key]), [['ES256', publicKey]]);
  assert.ok(log.some((e) => e.type === 'oath_taken' && e.participant === id), 'oath_taken');
  // The judge's browser has Ed25519: its key_bound has no alg (the format before ES256).
  assert.ok(log.filter((e) => e.type === 'key_bound' && e.participant !== id).every((e) => !('alg' in e)));

  // node:crypto (OpenSSL's ECDSA) checks the oath against its .pub.pem.
  const att = join(bundle, 'attestations');
  const oathFile = readdirSync(att).find((n) => /^\d{4}-oath\.json$/.test(n));
  const stem = join(att, oathFile.slice(0, -'.json'.length));
  const pub = createPublicKey(readFileSync(`${stem}.pub.pem`, 'utf8'));
  assert.equal(pub.asymmetricKeyType, 'ec');
  assert.equal(pub.export({ format: 'jwk' }).crv, 'P-256');
  const stmt = readFileSync(join(att, oathFile));
  assert.ok(nodeVerify('sha256', stmt, { key: pub, dsaEncoding: 'ieee-p1363' }, readFileSync(`${stem}.sig`)), 'oath signature verifies');
  assert.equal(JSON.parse(stmt.toString('utf8')).text, oathText, 'signed exactly the text shown');

  // Both verifiers: valid (key not pinned), the same checks.
  const ok = await bothVerifiers(bundle);
  assert.equal(ok.code, 3, `sworn verify: ${JSON.stringify(ok.rust.checks.filter((c) => c.status === 'fail'))}`);
  assert.equal(ok.js.verdict, 'valid_key_not_pinned', JSON.stringify(ok.jsRows.filter((c) => c.status === 'fail')));
  assert.deepEqual(ok.jsRows.map((r) => [r.name, r.status]), ok.rustRows.map((r) => [r.name, r.status]));

  // The oath's signature changed, in the log entry and in its .sig file alike.
  const tmp = mkdtempSync(join(tmpdir(), 'sworn-p256-'));
  try {
    const bad = join(tmp, 'bundle');
    cpSync(bundle, bad, { recursive: true });
    const sig = readFileSync(`${stem}.sig`);
    const flipped = Buffer.from(sig);
    flipped[40] ^= 0x01;
    writeFileSync(join(bad, relative(bundle, `${stem}.sig`)), flipped);
    const entries = readFileSync(join(bad, 'log', 'entries.jsonl'), 'utf8');
    assert.ok(entries.includes(sig.toString('base64url')));
    writeFileSync(join(bad, 'log', 'entries.jsonl'), entries.replace(sig.toString('base64url'), flipped.toString('base64url')));
    const no = await bothVerifiers(bad);
    assert.equal(no.code, 1, 'sworn verify: invalid');
    assert.equal(no.js.verdict, 'invalid');
    const attRust = no.rust.checks.find((c) => c.name === 'attestations');
    const attJs = no.js.checks.find((c) => c.name === 'attestations');
    assert.equal(attRust.status, 'fail');
    assert.equal(attJs.status, 'fail');
    assert.match(JSON.stringify(attRust), /does not verify/);
    assert.match(JSON.stringify(attJs), /does not verify/);
    assert.deepEqual(no.jsRows.map((r) => [r.name, r.status]), no.rustRows.map((r) => [r.name, r.status]));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
