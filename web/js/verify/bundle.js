// Bundle verification in the browser: the same walk as src/verify/bundle/mod.rs and
// manifest.rs (index files, layout, keys, manifest signature), then the log, checkpoint,
// media and attestation checks from their own modules, into a report with the same named
// checks and failures as `sworn-verify --json`.
// Pure over a source (zip reader): it must never upload anything, and must fail closed on
// anything missing, extra or empty.

import { Sha256, toHex } from './sha256.js';
import { parseBytes } from './canonical.js';
import { isSafeRelativePath } from './entry.js';
import { parsePublicKeyPem, parseVkey, vkeyEquals } from './keys.js';
import { err, message } from './errors.js';
import { checkLog } from './log.js';
import { checkCheckpoints, checkProofs, checkTimestamps } from './checkpoints.js';
import { checkMedia, checkDerived } from './media.js';
import { checkAttestations } from './attest.js';
import { checkCustody, isCustodyExtract } from './custody.js';
import { HISTORY_PATH, parseHistory, decide, signersRing } from './keyhistory.js';
import { checkArchive, isArchive } from './archive.js';

/** Files the manifest never lists: the custody extract and the evidence record. */
const isUnlistedTree = (p) => isCustodyExtract(p) || isArchive(p);

const UNLISTED = ['manifest.json', 'manifest.sig', 'SHA256SUMS'];
const FIXED = [
  'manifest.json', 'manifest.sig', 'SHA256SUMS', 'VERIFY.txt', 'keys/server.pub.pem',
  'keys/server.vkey', 'keys/history.json', 'log/entries.jsonl', 'tsa/chain.pem', 'minutes/minutes.html', 'minutes/minutes.sig',
];
/** Largest file read whole (all but media and derived files), as src/verify/bundle/mod.rs. */
export const MAX_WHOLE_FILE_BYTES = 256 * 1048576;
const utf8 = new TextEncoder();
const lossy = new TextDecoder();

/** Byte-wise (UTF-8) order, as Rust's BTreeSet<String>. */
export function byteOrder(a, b) {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

export function layoutAllows(path) {
  if (!isSafeRelativePath(path)) return false;
  if (FIXED.includes(path)) return true;
  if (path.startsWith('log/checkpoints/')) return /^log\/checkpoints\/[0-9]+\.(note|tsr)$/.test(path);
  if (path.startsWith('log/proofs/')) return /^log\/proofs\/[0-9]+\.consistency\.json$/.test(path);
  if (path.startsWith('attestations/')) return !path.slice('attestations/'.length).includes('/');
  return ['media/', 'derived/'].some((p) => path.startsWith(p));
}

/** Shared state of one run. */
export class Ctx {
  constructor(src, onProgress) {
    this.src = src;
    this.paths = src.paths().sort(byteOrder);
    this.pathSet = new Set(this.paths);
    this.digests = new Map(); // path -> {sha256 hex, length}
    this.checks = [];
    this.manifestBytes = null;
    this.onProgress = onProgress || (() => {});
  }
  has(p) { return this.pathSet.has(p); }
  /** Whole file or null (with MissingFile / FileTooLarge / ReadFailed pushed). */
  async read(path, errs) {
    if (!this.has(path)) { errs.push(err('MissingFile', { path })); return null; }
    const size = this.src.size(path);
    if (size > MAX_WHOLE_FILE_BYTES) {
      errs.push(err('FileTooLarge', { path, size: BigInt(size), max: BigInt(MAX_WHOLE_FILE_BYTES) }));
      return null;
    }
    try {
      return await this.src.read(path);
    } catch (e) {
      errs.push(err('ReadFailed', { path, reason: String(e.message || e) }));
      return null;
    }
  }
  record(name, errs, ok) {
    if (!errs.length) this.checks.push({ name, status: 'pass', detail: ok });
    for (const e of errs) this.checks.push({ name, status: 'fail', detail: message(e), error: e });
  }
  skip(name, detail) { this.checks.push({ name, status: 'skip', detail }); }
}

function parseManifest(bytes) {
  const m = parseBytes(bytes);
  const obj = (v, keys, what) => {
    if (!(v instanceof Map)) throw new Error(`invalid type: expected struct ${what}`);
    for (const k of v.keys()) if (!keys.includes(k)) throw new Error(`unknown field \`${k}\``);
    for (const k of keys) if (!v.has(k)) throw new Error(`missing field \`${k}\``);
  };
  const str = (v, k) => { if (typeof v.get(k) !== 'string') throw new Error(`invalid type for \`${k}\``); return v.get(k); };
  const u64 = (v, k) => { const n = v.get(k); if (typeof n !== 'bigint' || n < 0n) throw new Error(`invalid type for \`${k}\``); return n; };
  obj(m, ['format', 'hearing', 'origin', 'server_key', 'log_size', 'final_checkpoint', 'files'], 'Manifest');
  const sk = m.get('server_key');
  obj(sk, ['vkey', 'fingerprint'], 'ManifestKey');
  const files = m.get('files');
  if (!Array.isArray(files)) throw new Error('invalid type for `files`');
  return {
    format: str(m, 'format'),
    hearing: str(m, 'hearing'),
    origin: str(m, 'origin'),
    server_key: { vkey: str(sk, 'vkey'), fingerprint: str(sk, 'fingerprint') },
    log_size: u64(m, 'log_size'),
    final_checkpoint: str(m, 'final_checkpoint'),
    files: files.map((f) => {
      obj(f, ['path', 'sha256', 'length'], 'ManifestFile');
      return { path: str(f, 'path'), sha256: str(f, 'sha256'), length: u64(f, 'length') };
    }),
  };
}

async function checkFiles(ctx) {
  const errs = [];
  const raw = await ctx.read('manifest.json', errs);
  let man = null;
  if (raw) {
    try {
      man = parseManifest(raw);
      ctx.manifestBytes = raw;
    } catch (e) {
      errs.push(err('ManifestMalformed', { reason: String(e.message) }));
    }
  }
  if (!man) { ctx.record('manifest', errs, ''); return null; }
  if (man.format !== 'sworn-bundle/1') errs.push(err('ManifestWrongFormat', { found: man.format }));
  // Digest every file once. The custody extract (`custody/**`) is added at export time,
  // is not in the manifest and is checked by its own rules (custody.js).
  const paths = ctx.paths.filter((p) => !isUnlistedTree(p));
  const total = paths.reduce((n, p) => n + (ctx.src.size(p) || 0), 0);
  let done = 0;
  for (const p of paths) {
    if (!layoutAllows(p)) { errs.push(err('ExtraFile', { path: p })); continue; }
    const h = new Sha256();
    const base = done;
    try {
      await ctx.src.stream(p, (b, at) => {
        h.update(b);
        ctx.onProgress({ phase: 'hashing', file: p, done: base + at, total });
      });
    } catch (e) {
      errs.push(err('ReadFailed', { path: p, reason: String(e.message || e) }));
      continue;
    }
    const len = ctx.src.size(p);
    done += len;
    if (len === 0) errs.push(err('EmptyFile', { path: p }));
    ctx.digests.set(p, { sha256: toHex(h.digest()), length: BigInt(len) });
  }
  const listed = new Map();
  for (const f of man.files) {
    if (listed.has(f.path) || UNLISTED.includes(f.path) || isUnlistedTree(f.path)) {
      errs.push(err('ManifestMalformed', { reason: `${f.path} listed twice or must not be listed` }));
    }
    if (!listed.has(f.path)) listed.set(f.path, f);
  }
  for (const p of ctx.paths) {
    if (!UNLISTED.includes(p) && layoutAllows(p) && !listed.has(p)) errs.push(err('ExtraFile', { path: p }));
  }
  for (const path of [...listed.keys()].sort(byteOrder)) {
    const f = listed.get(path);
    const d = ctx.digests.get(path);
    if (!d) {
      if (!ctx.has(path)) errs.push(err('MissingFile', { path }));
    } else if (d.sha256 !== f.sha256) {
      errs.push(err('ManifestHashMismatch', { path, expected: f.sha256, calculated: d.sha256 }));
    } else if (d.length !== f.length) {
      errs.push(err('ManifestLengthMismatch', { path, expected: f.length, actual: d.length }));
    }
  }
  ctx.record('manifest', errs, `${man.files.length} files listed, all present and matching`);
  await checkSums(ctx);
  return man;
}

async function checkSums(ctx) {
  const errs = [];
  const bad = (reason) => err('Sha256SumsMismatch', { reason });
  const b = await ctx.read('SHA256SUMS', errs);
  if (b) {
    const text = lossy.decode(b);
    const seen = new Set();
    if (!text.endsWith('\n')) errs.push(bad('no final newline'));
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (let line of lines) {
      if (line.endsWith('\r')) line = line.slice(0, -1);
      const i = line.indexOf('  ');
      if (i < 0) { errs.push(bad(`malformed line ${JSON.stringify(line)}`)); continue; }
      const sha = line.slice(0, i);
      const path = line.slice(i + 2);
      if (seen.has(path)) errs.push(bad(`${path} listed twice`));
      seen.add(path);
      const d = ctx.digests.get(path);
      if (!d) errs.push(bad(`${path}: listed but not in the bundle`));
      else if (d.sha256 !== sha) errs.push(bad(`${path}: checksum differs`));
    }
    for (const p of ctx.paths) {
      if (p !== 'SHA256SUMS' && !isUnlistedTree(p) && !seen.has(p)) errs.push(bad(`${p} not listed`));
    }
  }
  ctx.record('sha256sums', errs, 'every file matches SHA256SUMS');
}

/** Reads keys/history.json if present; it must end with the bundle key (signers.rs). */
async function readCarried(ctx, current, errs) {
  if (!ctx.paths.includes(HISTORY_PATH)) return null;
  const bytes = await ctx.read(HISTORY_PATH, errs);
  if (!bytes) return null;
  let h;
  try { h = await parseHistory(bytes); } catch (e) {
    errs.push(err('KeyHistoryInvalid', { path: HISTORY_PATH, reason: e.message }));
    return null;
  }
  if (h.server !== current.name || !current.key.equals(h.current())) {
    errs.push(err('KeyMismatch', { reason: "keys/history.json does not end with the bundle's server key" }));
    return null;
  }
  return h;
}

/** -> signers {current, ring, carried} or null (src/verify/bundle/manifest.rs check_keys). */
async function checkKeys(ctx, man, pin) {
  let errs = [];
  let pem = null;
  let vkey = null;
  const pemBytes = await ctx.read('keys/server.pub.pem', errs);
  if (pemBytes) {
    try { pem = parsePublicKeyPem(lossy.decode(pemBytes)); } catch (e) {
      errs.push(err('KeyMalformed', { path: 'keys/server.pub.pem', reason: e.message }));
    }
  }
  const vkeyBytes = await ctx.read('keys/server.vkey', errs);
  if (vkeyBytes) {
    try { vkey = parseVkey(lossy.decode(vkeyBytes)); } catch (e) {
      errs.push(err('KeyMalformed', { path: 'keys/server.vkey', reason: e.message }));
    }
  }
  let found = null;
  if (pem && vkey) {
    let manifestV = null;
    try { manifestV = parseVkey(man.server_key.vkey); } catch { /* compared below */ }
    if (!pem.equals(vkey.key)) {
      errs.push(err('KeyMismatch', { reason: 'server.pub.pem and server.vkey hold different keys' }));
    } else if (!vkeyEquals(manifestV, vkey)) {
      errs.push(err('KeyMismatch', { reason: 'manifest vkey differs from keys/server.vkey' }));
    } else if (man.server_key.fingerprint !== vkey.key.fingerprint()) {
      errs.push(err('KeyMismatch', { reason: "manifest fingerprint is not the key's" }));
    } else {
      const before = errs.length;
      const carried = await readCarried(ctx, vkey, errs);
      if (errs.length === before) {
        if (!pin) found = { v: vkey, carried, trusted: null };
        else {
          const d = decide(pin, vkey.key, carried);
          if (d.ok) found = { v: vkey, carried, trusted: d.ok };
          else if (d.conflict !== undefined) errs.push(err('KeyHistoryConflict', { path: HISTORY_PATH, index: BigInt(d.conflict) }));
          else errs.push(err('UnknownKey', { fingerprint: vkey.key.fingerprint() }));
        }
      }
    }
  }
  let detail = '';
  if (found && found.trusted) {
    detail = found.trusted.via
      ? `server key ${found.v.key.fingerprint()} succeeds the pinned key ${found.trusted.via.fingerprint()} through signed rotations`
      : `server key ${found.v.key.fingerprint()} is the pinned key`;
  } else if (found) detail = `server key ${found.v.key.fingerprint()} (consistent; not pinned)`;
  ctx.record('keys', errs, detail);
  const signers = found ? { current: found.v, ring: signersRing(found.v, found.carried, pin), carried: found.carried } : null;
  if (signers && signers.carried) {
    ctx.record('keys.history', [], `${signers.carried.keys.length} server keys, each signed by its predecessor; the bundle key is the newest`);
  }
  errs = [];
  const sig = await ctx.read('manifest.sig', errs);
  const pinnedKey = pin ? (pin.key || pin.history.current()) : null;
  const key = found ? found.v.key : pinnedKey;
  if (sig && key) {
    if (!(await key.verify(ctx.manifestBytes, sig))) {
      errs.push(err('ManifestBadSignature', { reason: "manifest.sig is not the server key's signature over manifest.json" }));
    }
  } else if (!errs.length) {
    errs.push(err('ManifestBadSignature', { reason: 'no usable server key' }));
  }
  ctx.record('manifest.signature', errs, 'manifest.json signed by the server key');
  if (!pin && found) {
    ctx.skip('keys.pinning', `no --trust key given: checked against the bundle's own key ${found.v.key.fingerprint()}; compare it with the court's published fingerprint`);
  }
  return signers;
}

/**
 * Verifies a bundle. `opts`: {trustedKey: EdKey|null, trustedHistory: KeyHistory|null
 * (takes precedence), trustedTsaChain: Uint8Array|null,
 * onProgress}. Returns a report shaped like `sworn-verify --json`.
 */
export async function verifyBundle(src, opts = {}) {
  const ctx = new Ctx(src, opts.onProgress);
  const report = {
    checks: [], valid: false, verdict: 'invalid', hearing: null, log_size: null, key_fingerprint: null,
    key_pinned: !!(opts.trustedKey || opts.trustedHistory), interruptions: [], nodes_lost: [], custody: [], archive: null,
  };
  const man = await checkFiles(ctx);
  if (!man) { report.checks = ctx.checks; return report; }
  report.hearing = man.hearing;
  const pin = opts.trustedHistory ? { history: opts.trustedHistory } : opts.trustedKey ? { key: opts.trustedKey } : null;
  const signers = await checkKeys(ctx, man, pin);
  report.key_fingerprint = signers ? signers.current.key.fingerprint() : null;
  ctx.onProgress({ phase: 'log' });
  const spec = { base: 'log/', name: 'log', logId: man.hearing, origin: man.origin };
  const log = await checkLog(ctx, man, spec);
  report.log_size = log.entries.length;
  report.interruptions = log.interruptions;
  report.nodes_lost = log.nodes_lost;
  ctx.onProgress({ phase: 'checkpoints' });
  const cps = await checkCheckpoints(ctx, spec, man, log, signers);
  await checkProofs(ctx, spec, cps);
  await checkTimestamps(ctx, log, cps, opts.trustedTsaChain || null);
  await checkMedia(ctx, log);
  checkDerived(ctx, log);
  ctx.onProgress({ phase: 'attestations' });
  await checkAttestations(ctx, man, log, cps);
  report.custody = await checkCustody(ctx, man.hearing, signers, pin, opts.trustedTsaChain || null);
  ctx.onProgress({ phase: 'archive' });
  report.archive = await checkArchive(ctx, opts.trustedTsaChain || null);
  report.valid = ctx.checks.length > 0 && ctx.checks.every((c) => c.status !== 'fail');
  report.verdict = verdictOf(report.valid, report.key_pinned);
  report.checks = ctx.checks;
  return report;
}

/**
 * The overall verdict, as src/verify/report.rs `Verdict`: only a pinned key makes a clean
 * run "valid"; against the bundle's own key it is "valid_key_not_pinned".
 */
export function verdictOf(valid, keyPinned) {
  if (!valid) return 'invalid';
  return keyPinned ? 'valid' : 'valid_key_not_pinned';
}

/** True if a source read failed (sworn-verify exits 2 rather than 1). */
export const ioFailed = (report) => report.checks.some((c) => c.error && c.error.code === 'ReadFailed');
