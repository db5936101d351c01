// Attestations (`attestations/NNNN-<kind>.{json,sig,pub.pem}`) and signed minutes
// (src/verify/bundle/attest.rs, attestation.rs): exact statement bytes hash as logged,
// signed by the key bound to the signer earlier in the log (Ed25519, or ECDSA P-256 when
// the key_bound says alg "ES256"), bound to a signed checkpoint.
// It must never accept a signature from a key the log did not bind first.

import { parseCanonical } from './canonical.js';
import { b64decode, b64urlDecode, parseParticipantKey, parseParticipantPem } from './keys.js';
import { sha256, toHex, bytesEqual } from './sha256.js';
import { err } from './errors.js';

const KINDS = ['oath', 'identity', 'cosign', 'closing', 'minutes'];
const MAX_STATEMENT_BYTES = 64 * 1024;
const lossy = new TextDecoder();
const hex = (b) => toHex(sha256(b));

export function attestationPaths(ordinal, kind) {
  const stem = `attestations/${ordinal.toString().padStart(4, '0')}-${kind}`;
  return [`${stem}.json`, `${stem}.sig`, `${stem}.pub.pem`];
}

/** Statement bytes -> statement, or throws Error('malformed statement: ...'). */
export function parseStatement(bytes) {
  const bad = (m) => new Error(`malformed statement: ${m}`);
  if (bytes.length > MAX_STATEMENT_BYTES) throw bad('too large');
  let v;
  try { v = parseCanonical(bytes); } catch (e) { throw bad(e.message); }
  const get = (m, k) => (m instanceof Map ? m.get(k) : undefined);
  const s = (k) => (typeof get(v, k) === 'string' ? get(v, k) : null);
  if (get(v, 'v') !== 1n) throw bad('v must be 1');
  const kind = s('kind');
  if (kind === null) throw bad('no kind');
  if (!KINDS.includes(kind)) throw bad('unknown kind');
  const cp = get(v, 'checkpoint');
  if (cp === undefined) throw bad('no checkpoint');
  const size = get(cp, 'size');
  if (typeof size !== 'bigint' || size < 0n) throw bad('no checkpoint.size');
  const root = typeof get(cp, 'root') === 'string' ? b64decode(get(cp, 'root')) : null;
  if (!root || root.length !== 32) throw bad('checkpoint.root is not base64 SHA-256');
  const minutes = s('minutes_sha256');
  if (kind === 'minutes' && minutes === null) throw bad('minutes statement without minutes_sha256');
  const hearing = s('hearing');
  if (hearing === null) throw bad('no hearing');
  const participant = s('participant');
  if (participant === null) throw bad('no participant');
  if (s('text') === null) throw bad('no text');
  return { kind, hearing, participant, checkpointSize: size, checkpointRoot: root, minutesSha256: minutes };
}

async function verifySig(key, msg, sig) {
  if (sig.length !== 64) return `signature is ${sig.length} bytes, not 64`;
  return (await key.verify(msg, sig)) ? null : 'does not verify';
}

export async function checkAttestations(ctx, man, log, cps) {
  const errs = [];
  const bound = new Map();
  const expectedFiles = new Set();
  let ordinal = 0;
  let minutes = null;
  for (const [seq, e] of log.iter()) {
    if (e.type === 'key_bound') {
      try { bound.set(e.participant, parseParticipantKey(e.alg, e.public_key)); } catch (x) {
        errs.push(err('EntryMalformed', { line: seq, reason: `key_bound: ${x.message}` }));
      }
      continue;
    }
    if (e.type !== 'attestation') continue;
    ordinal += 1;
    if (!KINDS.includes(e.kind)) {
      errs.push(err('EntryMalformed', { line: seq, reason: `unknown attestation kind ${JSON.stringify(e.kind)}` }));
      continue;
    }
    const [jsonP, sigP, pubP] = attestationPaths(ordinal, e.kind);
    [jsonP, sigP, pubP].forEach((p) => expectedFiles.add(p));
    const stmt = await ctx.read(jsonP, errs);
    const sigFile = await ctx.read(sigP, errs);
    const pubFile = await ctx.read(pubP, errs);
    const key = bound.get(e.participant);
    if (!key) { errs.push(err('KeyNotBound', { participant: e.participant, seq })); continue; }
    if (!stmt) continue;
    if (hex(stmt) !== e.statement_sha256) errs.push(err('AttestationHashMismatch', { path: jsonP }));
    const badSig = (reason) => err('AttestationBadSignature', { path: jsonP, reason });
    const sig = b64urlDecode(e.signature);
    if (sig) {
      const r = await verifySig(key, stmt, sig);
      if (r) errs.push(badSig(r));
      if (sigFile && !bytesEqual(sigFile, sig)) errs.push(badSig(`${sigP} differs from the logged signature`));
    } else {
      errs.push(badSig('logged signature is not base64url'));
    }
    if (pubFile) {
      let k = null;
      try { k = parseParticipantPem(lossy.decode(pubFile)); } catch { /* reported below */ }
      if (!k || !k.equals(key)) errs.push(badSig(`${pubP} is not the key bound to ${e.participant}`));
    }
    let st;
    try { st = parseStatement(stmt); } catch (x) {
      errs.push(err('AttestationMalformed', { path: jsonP, reason: x.message }));
      continue;
    }
    if (st.kind !== e.kind || st.participant !== e.participant || st.hearing !== man.hearing) {
      errs.push(err('AttestationMalformed', { path: jsonP, reason: 'kind, participant or hearing differ from the log entry' }));
    }
    const signed = cps.get(st.checkpointSize);
    if (!signed || !bytesEqual(signed.root, st.checkpointRoot) || st.checkpointSize > seq) {
      errs.push(err('AttestationCheckpointUnknown', { path: jsonP }));
    }
    if (e.kind === 'minutes' && st.minutesSha256 !== null) minutes = { key, sha: st.minutesSha256 };
  }
  for (const p of ctx.paths.filter((q) => q.startsWith('attestations/'))) {
    if (!expectedFiles.has(p)) errs.push(err('ExtraFile', { path: p }));
  }
  ctx.record('attestations', errs, `${ordinal} attestations signed by keys bound in the log`);
  await checkMinutes(ctx, minutes);
}

async function checkMinutes(ctx, minutes) {
  const htmlP = 'minutes/minutes.html';
  const sigP = 'minutes/minutes.sig';
  if (!minutes) {
    if (ctx.has(htmlP) || ctx.has(sigP)) {
      ctx.record('minutes', [err('MinutesBadSignature', { reason: 'minutes present but no minutes attestation in the log' })], '');
    } else {
      ctx.skip('minutes', 'no minutes in this bundle');
    }
    return;
  }
  const errs = [];
  const html = await ctx.read(htmlP, errs);
  const sig = await ctx.read(sigP, errs);
  if (html && sig) {
    if (hex(html) !== minutes.sha) errs.push(err('MinutesHashMismatch'));
    const r = await verifySig(minutes.key, html, sig);
    if (r) errs.push(err('MinutesBadSignature', { reason: r }));
  }
  ctx.record('minutes', errs, 'minutes signed by the key that made the minutes attestation');
}
