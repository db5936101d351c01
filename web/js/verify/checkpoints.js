// Signed checkpoints, consistency proofs between successive checkpoints and RFC 3161
// tokens over the exact note bytes (src/verify/bundle/checkpoints.rs).
// Every proof root must equal a signed checkpoint root; it must never accept a root it
// did not see signed by the trusted key.

import { parseBytes } from './canonical.js';
import { b64decode, b64encode } from './keys.js';
import { bytesEqual } from './sha256.js';
import { verifyNoteAny, parseCheckpoint } from './note.js';
import { verifyConsistency } from './merkle.js';
import { verifyToken } from './timestamp.js';
import { err } from './errors.js';
import { parseMs } from './entry.js';

const pad6 = (n) => n.toString().padStart(6, '0');

function sizeFromPath(path, prefix, suffix) {
  if (!path.startsWith(prefix) || !path.endsWith(suffix)) return null;
  const digits = path.slice(prefix.length, path.length - suffix.length);
  if (!/^[0-9]+$/.test(digits) || digits.length < 6 || (digits.length > 6 && digits.startsWith('0'))) return null;
  const n = BigInt(digits);
  return n < 1n << 64n ? n : null;
}

/**
 * Checks every `<base>checkpoints/*.note`; returns Map(size BigInt -> {path, root, note})
 * sorted by size. For the hearing log `man` names the final checkpoint; for the custody
 * log (`man` = null) the largest must cover the log.
 */
/**
 * A checkpoint against the signers' ring (signers.rs `verify_checkpoint`): -> {body} or
 * {error}. A key may only sign entries dated up to its retirement.
 */
async function verifyCheckpoint(path, bytes, ring, log) {
  const v = await verifyNoteAny(bytes, ring.map((r) => r.verifier));
  if (v.malformed) return { error: err('CheckpointMalformed', { path, reason: v.malformed }) };
  if (v.bad) return { error: err('CheckpointBadSignature', { path, reason: v.bad }) };
  const { verifier, retired } = ring[v.index];
  if (retired === null) return v;
  const cp = parseCheckpoint(v.body);
  const last = cp.error || cp.size === 0n ? null : log.entries[Number(cp.size - 1n)];
  if (!last) return v;
  const t = parseMs(last.time);
  if (t !== null && t > retired) {
    return {
      error: err('KeyRetired', {
        path, fingerprint: verifier.key.fingerprint(), retired: new Date(retired).toISOString(), entry_time: last.time,
      }),
    };
  }
  return v;
}

export async function checkCheckpoints(ctx, spec, man, log, signers) {
  let errs = [];
  const good = new Map();
  const logSize = BigInt(log.entries.length);
  const cpDir = `${spec.base}checkpoints/`;
  const check = man ? 'checkpoints' : `${spec.name}.checkpoints`;
  if (man) {
    const tail = `/hearing/${man.hearing}`;
    if (!man.origin.endsWith(tail)) {
      errs.push(err('CheckpointWrongOrigin', { path: 'manifest.json', expected: `<server>${tail}`, found: man.origin }));
    }
  }
  const notes = ctx.paths.filter((p) => p.startsWith(cpDir) && p.endsWith('.note'));
  if (!notes.length) errs.push(err('MissingFile', { path: `${cpDir}*.note` }));
  for (const path of notes) {
    const bytes = await ctx.read(path, errs);
    if (!bytes) continue;
    if (!signers) { errs.push(err('CheckpointBadSignature', { path, reason: 'no usable server key' })); continue; }
    const v = await verifyCheckpoint(path, bytes, signers.ring, log);
    if (v.error) { errs.push(v.error); continue; }
    const cp = parseCheckpoint(v.body);
    if (cp.error) { errs.push(err('CheckpointMalformed', { path, reason: cp.error })); continue; }
    if (cp.origin !== spec.origin) {
      errs.push(err('CheckpointWrongOrigin', { path, expected: spec.origin, found: cp.origin }));
      continue;
    }
    if (sizeFromPath(path, cpDir, '.note') !== cp.size || cp.size === 0n || cp.size > logSize) {
      errs.push(err('CheckpointSizeInvalid', { path, size: cp.size, log_size: logSize }));
      continue;
    }
    const r = log.rootAt(cp.size);
    if (r && bytesEqual(r, cp.root)) good.set(cp.size, { path, root: cp.root, note: bytes });
    else if (r) errs.push(err('RootMismatch', { path, expected: b64encode(cp.root), calculated: b64encode(r) }));
    else errs.push(err('CheckpointSizeInvalid', { path, size: cp.size, log_size: logSize }));
  }
  const sorted = new Map([...good.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  ctx.record(check, errs, `${sorted.size} checkpoints signed by the server key, roots match the entries`);

  errs = [];
  if (man) checkNamedFinal(ctx, man, sorted, logSize, errs);
  const sizes = [...sorted.keys()];
  if (sizes.length) {
    const max = sizes[sizes.length - 1];
    if (max !== logSize) errs.push(err('CheckpointNotFinal', { path: sorted.get(max).path, size: max, log_size: logSize }));
  }
  ctx.record(`${check}.final`, errs, `final checkpoint covers all ${logSize} entries`);
  return sorted;
}

function checkNamedFinal(ctx, man, good, logSize, errs) {
  const finalSize = sizeFromPath(man.final_checkpoint, 'log/checkpoints/', '.note');
  const fin = finalSize !== null ? good.get(finalSize) : undefined;
  if (fin) {
    if (!(finalSize === logSize && fin.path === man.final_checkpoint)) {
      errs.push(err('CheckpointNotFinal', { path: man.final_checkpoint, size: finalSize, log_size: logSize }));
    }
  } else if (ctx.has(man.final_checkpoint) && finalSize !== null) {
    // present but invalid: already reported under "checkpoints"
  } else if (ctx.has(man.final_checkpoint)) {
    errs.push(err('CheckpointNotFinal', { path: man.final_checkpoint, size: 0n, log_size: logSize }));
  } else {
    errs.push(err('MissingFile', { path: man.final_checkpoint }));
  }
}

function parseConsistency(bytes) {
  const m = parseBytes(bytes);
  const keys = ['old_size', 'new_size', 'old_root', 'new_root', 'proof'];
  if (!(m instanceof Map)) throw new Error('invalid type: expected struct ConsistencyFile');
  for (const k of m.keys()) if (!keys.includes(k)) throw new Error(`unknown field \`${k}\``);
  for (const k of keys) if (!m.has(k)) throw new Error(`missing field \`${k}\``);
  const u = (k) => { const v = m.get(k); if (typeof v !== 'bigint' || v < 0n) throw new Error(`invalid type for \`${k}\``); return v; };
  const s = (k) => { const v = m.get(k); if (typeof v !== 'string') throw new Error(`invalid type for \`${k}\``); return v; };
  const proof = m.get('proof');
  if (!Array.isArray(proof) || !proof.every((x) => typeof x === 'string')) throw new Error('invalid type for `proof`');
  return { old_size: u('old_size'), new_size: u('new_size'), old_root: s('old_root'), new_root: s('new_root'), proof };
}

const b64Hash = (s) => { const b = b64decode(s); return b && b.length === 32 ? b : null; };

export async function checkProofs(ctx, spec, cps) {
  const errs = [];
  const cpDir = `${spec.base}checkpoints/`;
  const proofDir = `${spec.base}proofs/`;
  const sizes = [...cps.keys()];
  const expected = new Set();
  for (let i = 1; i < sizes.length; i++) {
    const [old, neu] = [sizes[i - 1], sizes[i]];
    const path = `${proofDir}${pad6(neu)}.consistency.json`;
    expected.add(path);
    const bytes = await ctx.read(path, errs);
    if (!bytes) continue;
    const invalid = (reason) => err('ConsistencyProofInvalid', { path, reason });
    let f;
    try { f = parseConsistency(bytes); } catch (e) { errs.push(invalid(e.message)); continue; }
    const oldRoot = b64Hash(f.old_root);
    const newRoot = b64Hash(f.new_root);
    if (!oldRoot || !newRoot) { errs.push(invalid('roots are not base64 SHA-256')); continue; }
    const proof = f.proof.map(b64Hash);
    if (proof.some((h) => !h)) { errs.push(invalid('proof hash is not base64 SHA-256')); continue; }
    if (f.old_size !== old || f.new_size !== neu) {
      errs.push(invalid(`proves ${f.old_size}->${f.new_size}, checkpoints are ${old}->${neu}`));
      continue;
    }
    if (!bytesEqual(cps.get(old).root, oldRoot) || !bytesEqual(cps.get(neu).root, newRoot)) {
      errs.push(err('ProofRootNotCheckpointed', { path }));
      continue;
    }
    const bad = verifyConsistency(old, neu, oldRoot, newRoot, proof);
    if (bad) errs.push(invalid(bad));
  }
  const noteSizes = ctx.paths.map((p) => sizeFromPath(p, cpDir, '.note')).filter((s) => s !== null)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const accounted = new Set(noteSizes.slice(1).map((s) => `${proofDir}${pad6(s)}.consistency.json`));
  for (const p of ctx.paths.filter((q) => q.startsWith(proofDir))) {
    if (!expected.has(p) && !accounted.has(p)) errs.push(err('ExtraFile', { path: p }));
  }
  ctx.record(spec.base === 'log/' ? 'consistency' : `${spec.name}.consistency`, errs, `${expected.size} consistency proofs link successive signed checkpoints`);
}

/** Time-stamps may trail the log's wall clock by this much (CLOCK_TOLERANCE_MS). */
const CLOCK_TOLERANCE_MS = 10 * 60 * 1000;

export async function checkTimestamps(ctx, log, cps, pinnedChain) {
  const errs = [];
  const tsrs = ctx.paths.filter((p) => p.startsWith('log/checkpoints/') && p.endsWith('.tsr'));
  if (!tsrs.length) { ctx.skip('timestamps', 'no RFC 3161 time-stamp tokens in the bundle'); return; }
  const chain = pinnedChain || (await ctx.read('tsa/chain.pem', errs));
  const anchor = pinnedChain ? 'pinned TSA chain' : "the bundle's tsa/chain.pem (not pinned)";
  const times = [];
  let maxLagMs = 0;
  for (const path of tsrs) {
    const size = sizeFromPath(path, 'log/checkpoints/', '.tsr');
    const note = size !== null ? cps.get(size) : undefined;
    if (!note) {
      // A token whose note failed its own checks is reported under "checkpoints".
      if (!ctx.has(path.replace('.tsr', '.note'))) errs.push(err('ExtraFile', { path }));
      continue;
    }
    const token = await ctx.read(path, errs);
    if (!token || !chain) continue;
    const r = await verifyToken(token, note.note, chain);
    if (r.genTime) {
      const last = log.entries[Number(size) - 1];
      const ms = last ? parseMs(last.time) : null;
      const genMs = r.unix * 1000;
      if (ms !== null) {
        if (ms > genMs + 1000 + CLOCK_TOLERANCE_MS) {
          errs.push(err('TimestampBeforeEntries', { path, entry_time: last.time, gen_time: r.genTime }));
        }
        maxLagMs = Math.max(maxLagMs, genMs - ms);
      }
      times.push(r.genTime);
    } else if (r.mismatch) {
      errs.push(err('TimestampMismatch', { path }));
    } else {
      errs.push(err('TimestampInvalid', { path, reason: r.invalid }));
    }
  }
  times.sort();
  ctx.record('timestamps', errs,
    `${times.length} tokens over their checkpoints under ${anchor}, each no earlier than the entries it covers; largest lag ${Math.trunc(maxLagMs / 1000)} s (first ${times[0] ?? '-'}, last ${times[times.length - 1] ?? '-'})`);
}
