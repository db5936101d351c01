// The custody extract of an exported bundle (`custody/`, src/verify/bundle/custody.rs):
// the custody-log entries about this hearing, each with an RFC 9162 inclusion proof to
// one custody checkpoint signed by the bundle's server key (origin `<server>/custody`),
// and optionally that checkpoint's RFC 3161 token. The manifest does not list these
// files: the checkpoint signature authenticates them.
// It must never accept a file under `custody/` that is not one of the extract's shapes,
// and never hash anything but the exact stored entry bytes.

import { parseCanonical } from './canonical.js';
import { decodeEntry, parseMs } from './entry.js';
import { b64decode } from './keys.js';
import { verifyNoteAny, parseCheckpoint } from './note.js';
import { CUSTODY_HISTORY_PATH, parseHistory } from './keyhistory.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { verifyToken } from './timestamp.js';
import { bytesEqual } from './sha256.js';
import { err } from './errors.js';

export const CUSTODY_DIR = 'custody/';
export const CHECKPOINT_NOTE = 'custody/checkpoint.note';
export const CHECKPOINT_TSR = 'custody/checkpoint.tsr';
const CUSTODY_LOG_ID = 'custody';
/** Largest file accepted under `custody/`. */
const MAX_FILE = 1 << 20;
const MAX_U64 = (1n << 64n) - 1n;

/** True for paths of the export-time custody extract (never in the manifest). */
export const isCustodyExtract = (path) => path.startsWith(CUSTODY_DIR);

/** `prefix NNNNNN suffix` with at least six digits and no extra leading zeros -> BigInt. */
function numbered(path, prefix, suffix) {
  if (!path.startsWith(prefix) || !path.endsWith(suffix) || path.length < prefix.length + suffix.length) return null;
  const digits = path.slice(prefix.length, path.length - suffix.length);
  if (digits.length < 6 || !/^[0-9]+$/.test(digits)) return null;
  const n = BigInt(digits);
  if (n > MAX_U64) return null;
  return n.toString().padStart(6, '0') === digits ? n : null;
}

/** Which extract file a path is: {note} | {tsr} | {entry: seq} | {proof: seq} | null. */
export function shape(path) {
  if (path === CHECKPOINT_NOTE) return { note: true };
  if (path === CHECKPOINT_TSR) return { tsr: true };
  if (path === CUSTODY_HISTORY_PATH) return { history: true };
  const e = numbered(path, 'custody/entries/', '.json');
  if (e !== null) return { entry: e };
  const p = numbered(path, 'custody/proofs/', '.inclusion.json');
  return p !== null ? { proof: p } : null;
}

const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Checks the extract and records `custody` (and `custody.timestamp` when a token is
 * present). Returns the entries it shows: [{seq (BigInt), time, user, what, result}].
 */
/**
 * The keys that may sign the custody checkpoint (signers.rs `custody_ring`): the bundle
 * key, or with custody/history.json the bundle key and its successors.
 */
async function custodyRing(ctx, signers, pin, errs) {
  if (!ctx.paths.includes(CUSTODY_HISTORY_PATH)) return [signers.current];
  const bytes = await ctx.read(CUSTODY_HISTORY_PATH, errs);
  if (!bytes) return [];
  let h;
  try { h = await parseHistory(bytes); } catch (e) {
    errs.push(err('KeyHistoryInvalid', { path: CUSTODY_HISTORY_PATH, reason: e.message }));
    return [];
  }
  for (const other of [signers.carried, pin && pin.history].filter(Boolean)) {
    const c = h.conflictWith(other);
    if (c >= 0) {
      errs.push(err('KeyHistoryConflict', { path: CUSTODY_HISTORY_PATH, index: BigInt(c) }));
      return [];
    }
  }
  const from = h.position(signers.current.key);
  if (from < 0) {
    errs.push(err('KeyHistoryInvalid', { path: CUSTODY_HISTORY_PATH, reason: "does not hold the bundle's server key" }));
    return [];
  }
  return h.ring().slice(from).map((r) => r.verifier);
}

export async function checkCustody(ctx, hearing, signers, pin, pinnedChain) {
  const paths = ctx.paths.filter(isCustodyExtract);
  if (!paths.length) {
    ctx.record('custody', [], 'not present (no custody extract in this bundle)');
    return [];
  }
  const errs = [];
  const unexpected = (path, reason) => err('CustodyFileUnexpected', { path, reason });
  const entries = new Map();
  const proofs = new Map();
  let hasNote = false;
  let hasTsr = false;
  for (const p of paths) {
    const s = shape(p);
    if (!s) { errs.push(unexpected(p, 'not a custody extract file')); continue; }
    const n = ctx.src.size(p);
    if (n > MAX_FILE) { errs.push(unexpected(p, 'too large')); continue; }
    if (s.note) hasNote = true;
    else if (s.tsr) hasTsr = true;
    else if (s.history) { /* read by custodyRing */ }
    else if (s.entry !== undefined) entries.set(s.entry, p);
    else proofs.set(s.proof, p);
  }
  const sortedEntries = [...entries.entries()].sort((a, b) => cmp(a[0], b[0]));
  const sortedProofs = [...proofs.entries()].sort((a, b) => cmp(a[0], b[0]));
  for (const [seq, p] of sortedEntries) if (!proofs.has(seq)) errs.push(unexpected(p, 'entry without its inclusion proof'));
  for (const [seq, p] of sortedProofs) if (!entries.has(seq)) errs.push(unexpected(p, 'inclusion proof without its entry'));
  if (!hasNote) errs.push(unexpected(CUSTODY_DIR, 'no custody/checkpoint.note'));
  if (!entries.size) errs.push(unexpected(CUSTODY_DIR, 'no custody entries'));
  if (hasTsr && !hasNote) errs.push(unexpected(CHECKPOINT_TSR, 'token without checkpoint.note'));

  const ring = signers ? await custodyRing(ctx, signers, pin, errs) : null;
  const cp = hasNote ? await checkCheckpoint(ctx, ring, errs) : null;

  const records = [];
  for (const [seq, path] of sortedEntries) {
    const bytes = await ctx.read(path, errs);
    if (!bytes) continue;
    const r = checkEntry(seq, path, bytes, hearing, errs);
    if (r) records.push(r);
    const ppath = proofs.get(seq);
    if (cp && ppath) {
      const pbytes = await ctx.read(ppath, errs);
      if (pbytes) checkProof(seq, ppath, pbytes, leafHash(bytes), cp, errs);
    }
  }
  const detail = cp
    ? `${records.length} custody entries about this hearing, each included in the custody checkpoint of size ${cp.size} signed by the server key`
    : '';
  ctx.record('custody', errs, detail);
  if (hasTsr && hasNote) await checkTimestamp(ctx, cp ? cp.note : null, pinnedChain);
  return records;
}

/** Verifies custody/checkpoint.note; returns {origin, size, root, note} or null. */
async function checkCheckpoint(ctx, ring, errs) {
  const bytes = await ctx.read(CHECKPOINT_NOTE, errs);
  if (!bytes) return null;
  const bad = (reason) => err('CustodyCheckpointBadSignature', { reason });
  const verifier = ring && ring.length ? ring[0] : null;
  if (!verifier) { errs.push(bad('no usable server key')); return null; }
  const v = await verifyNoteAny(bytes, ring);
  if (v.malformed) { errs.push(bad(`malformed note: ${v.malformed}`)); return null; }
  if (v.bad) { errs.push(bad(v.bad)); return null; }
  const cp = parseCheckpoint(v.body);
  if (cp.error) { errs.push(bad(cp.error)); return null; }
  const expected = `${verifier.name}/${CUSTODY_LOG_ID}`;
  if (cp.origin !== expected) {
    errs.push(err('CustodyCheckpointWrongOrigin', { expected, found: cp.origin }));
    return null;
  }
  return { ...cp, note: bytes };
}

/** The reason `entry::decode` gives, worded as EntryError in src/verify/entry.rs. */
function decodeReason(d) {
  if (d.error === 'not_canonical') return `entry is not canonical JSON: ${d.reason}`;
  if (d.reason === 'entry has fields its type does not define') return d.reason;
  return `entry does not match its type: ${d.reason}`;
}

function checkEntry(seq, path, bytes, hearing, errs) {
  const malformed = (reason) => err('CustodyEntryMalformed', { path, reason });
  const d = decodeEntry(bytes);
  if (d.error) { errs.push(malformed(decodeReason(d))); return null; }
  const e = d.entry;
  if (e.type !== 'retrieval') { errs.push(malformed(`${e.type} entry, not a retrieval`)); return null; }
  if (e.seq !== seq) { errs.push(malformed(`seq ${e.seq} in a file numbered ${seq}`)); return null; }
  if (e.hearing !== CUSTODY_LOG_ID) {
    errs.push(malformed(`hearing ${JSON.stringify(e.hearing)}, not ${JSON.stringify(CUSTODY_LOG_ID)}`));
    return null;
  }
  if (parseMs(e.time) === null) { errs.push(malformed(`time ${JSON.stringify(e.time)} is malformed`)); return null; }
  if (e.retrieved_hearing !== hearing) {
    errs.push(err('CustodyEntryWrongHearing', { path, expected: hearing, found: e.retrieved_hearing }));
    return null;
  }
  return { seq, time: e.time, user: e.user, what: e.what, result: e.result };
}

/** `{"leaf_index","proof","root","tree_size"}` (serde, deny_unknown_fields). */
function parseInclusion(m) {
  const keys = ['leaf_index', 'proof', 'root', 'tree_size'];
  if (!(m instanceof Map)) throw new Error('invalid type: expected struct InclusionFile');
  for (const k of m.keys()) if (!keys.includes(k)) throw new Error(`unknown field \`${k}\``);
  for (const k of keys) if (!m.has(k)) throw new Error(`missing field \`${k}\``);
  const u = (k) => { const v = m.get(k); if (typeof v !== 'bigint' || v < 0n || v > MAX_U64) throw new Error(`invalid type for \`${k}\``); return v; };
  const root = m.get('root');
  if (typeof root !== 'string') throw new Error('invalid type for `root`');
  const proof = m.get('proof');
  if (!Array.isArray(proof) || !proof.every((x) => typeof x === 'string')) throw new Error('invalid type for `proof`');
  return { leaf_index: u('leaf_index'), proof, root, tree_size: u('tree_size') };
}

const b64Hash = (s) => { const b = b64decode(s); return b && b.length === 32 ? b : null; };

function checkProof(seq, path, bytes, leaf, cp, errs) {
  const invalid = (reason) => err('CustodyInclusionInvalid', { path, reason });
  let value;
  try { value = parseCanonical(bytes); } catch { errs.push(invalid('not canonical JSON')); return; }
  let f;
  try { f = parseInclusion(value); } catch (e) { errs.push(invalid(`malformed: ${e.message}`)); return; }
  if (f.leaf_index !== seq) { errs.push(invalid(`leaf_index ${f.leaf_index} in a file numbered ${seq}`)); return; }
  if (f.tree_size !== cp.size) { errs.push(invalid(`tree_size ${f.tree_size} but the checkpoint has size ${cp.size}`)); return; }
  const root = b64Hash(f.root);
  if (!root || !bytesEqual(root, cp.root)) { errs.push(invalid("root is not the checkpoint's root")); return; }
  const proof = f.proof.map(b64Hash);
  if (proof.some((h) => !h)) { errs.push(invalid('a proof hash is not 32 bytes of base64')); return; }
  const bad = verifyInclusion(seq, cp.size, leaf, proof, cp.root);
  if (bad) errs.push(invalid(bad));
}

/** custody/checkpoint.tsr over the exact custody/checkpoint.note bytes. */
async function checkTimestamp(ctx, note, pinnedChain) {
  const NAME = 'custody.timestamp';
  if (!note) { ctx.skip(NAME, 'the custody checkpoint did not verify'); return; }
  const errs = [];
  let chain = null;
  if (pinnedChain) chain = pinnedChain;
  else if (ctx.has('tsa/chain.pem')) chain = await ctx.read('tsa/chain.pem', errs);
  else errs.push(err('CustodyTimestampInvalid', { reason: 'no TSA chain (tsa/chain.pem) to check it with' }));
  const token = await ctx.read(CHECKPOINT_TSR, errs);
  let detail = '';
  if (token && chain) {
    const r = await verifyToken(token, note, chain);
    if (r.genTime) detail = `custody checkpoint time-stamped at ${r.genTime}`;
    else if (r.mismatch) errs.push(err('CustodyTimestampInvalid', { reason: 'the token is not over custody/checkpoint.note' }));
    else errs.push(err('CustodyTimestampInvalid', { reason: r.invalid }));
  }
  ctx.record(NAME, errs, detail);
}
