// The `archive` check in the browser (src/verify/archive/*.rs, src/verify/bundle/archive.rs):
// the bundle's evidence record (RFC 4998, `archive/evidence-record.ers`) over every file
// of the sealed bundle, each archive time-stamp's token under `archive/tsa-NN.pem` (or
// the pinned chain), renewals in order and before the previous TSA certificate expired.
// Same checks, failures, messages and summary as sworn-verify; docs/bundle-format.md §14.
// Pure: it must never read the clock, accept another file under `archive/`, or an
// algorithm outside SHA-256/384/512.

import { Sha256, toHex, bytesEqual } from './sha256.js';
import { Malformed, T, children, single, oidToString, eq } from './der.js';
import { verifyTokenDigest } from './timestamp.js';
import { err } from './errors.js';

export const RECORD_PATH = 'archive/evidence-record.ers';
export const ARCHIVE_DIR = 'archive/';
const NULL = 0x05;
const CTX0 = 0xa0;
const CTX1 = 0xa1;
const CTX2 = 0xa2;
const ALGS = {
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', webcrypto: 'SHA-256', len: 32 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', webcrypto: 'SHA-384', len: 48 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', webcrypto: 'SHA-512', len: 64 },
};
const SHA256_OID = '2.16.840.1.101.3.4.2.1';

export const isArchive = (p) => p.startsWith(ARCHIVE_DIR);
export const isDataObject = (p) => !isArchive(p) && !p.startsWith('custody/');
export const chainPath = (n) => `archive/tsa-${String(n).padStart(2, '0')}.pem`;

/** n of `archive/tsa-NN.pem`, or null (mod.rs `chain_number`). */
export function chainNumber(path) {
  const m = /^archive\/tsa-([0-9]+)\.pem$/.exec(path);
  if (!m) return null;
  const n = Number(m[1]);
  return n >= 1 && Number.isSafeInteger(n) && chainPath(n) === path ? n : null;
}

class RecordError extends Error {
  constructor(failure) { super(failure.code); this.failure = failure; }
}
const malformed = (reason) => new RecordError(err('ArchiveRecordMalformed', { reason }));

/** Runs `f`, turning a DER error into ArchiveRecordMalformed `DER: <what>`. */
function der(f) {
  try {
    return f();
  } catch (e) {
    if (e instanceof Malformed) throw malformed(`DER: ${e.what}`);
    throw e;
  }
}

function algorithmIdentifier(r) {
  const oid = der(() => r.next(T.OID, 'digest algorithm'));
  const params = der(() => r.nextIf(NULL, 'digest algorithm parameters'));
  if (params && params.value.length) throw malformed('digest algorithm parameters');
  der(() => r.finish('digest algorithm parameters'));
  let dotted;
  try { dotted = oidToString(oid.value); } catch { dotted = toHex(oid.value); }
  if (!ALGS[dotted]) throw new RecordError(err('ArchiveAlgorithmUnsupported', { oid: dotted }));
  return dotted;
}

function archiveTimeStamp(tlv) {
  const r = children(tlv);
  const a = der(() => r.nextIf(CTX0, 'digestAlgorithm'));
  if (!a) throw malformed('an archive time-stamp without digestAlgorithm (sworn-bundle/1 requires it)');
  const alg = algorithmIdentifier(children(a));
  if (r.peekTag() === CTX1) throw malformed('archive time-stamp attributes are not supported');
  let tree = null;
  const t = der(() => r.nextIf(CTX2, 'reducedHashtree'));
  if (t) {
    tree = [];
    const lr = children(t);
    while (!lr.isEmpty()) {
      const list = der(() => lr.next(T.SEQUENCE, 'PartialHashtree'));
      const hashes = [];
      const hr = children(list);
      while (!hr.isEmpty()) {
        const h = der(() => hr.next(T.OCTET_STRING, 'PartialHashtree hash')).value;
        if (h.length !== ALGS[alg].len) throw malformed(`a hash of ${h.length} bytes in a ${ALGS[alg].name} hash tree`);
        hashes.push(h);
      }
      if (!hashes.length) throw malformed('an empty PartialHashtree');
      tree.push(hashes);
    }
    if (!tree.length) throw malformed('an empty reducedHashtree');
  }
  const timeStamp = der(() => r.next(T.SEQUENCE, 'timeStamp')).raw;
  der(() => r.finish('ArchiveTimeStamp trailing fields'));
  return { raw: tlv.raw, alg, tree, timeStamp };
}

/** Parses a DER EvidenceRecord in sworn's profile (record.rs); throws RecordError. */
export function parseRecord(bytes) {
  const top = der(() => single(bytes, T.SEQUENCE, 'EvidenceRecord'));
  const r = children(top);
  const version = der(() => r.next(T.INTEGER, 'EvidenceRecord version'));
  if (!eq(version.value, [1])) throw malformed('version is not 1');
  const algsSeq = der(() => r.next(T.SEQUENCE, 'digestAlgorithms'));
  const digestAlgorithms = [];
  const ar = children(algsSeq);
  while (!ar.isEmpty()) digestAlgorithms.push(algorithmIdentifier(children(der(() => ar.next(T.SEQUENCE, 'digestAlgorithms')))));
  if ([CTX0, CTX1].includes(r.peekTag())) throw malformed('cryptoInfos and encryptionInfo are not supported (sworn-bundle/1)');
  const seq = der(() => r.next(T.SEQUENCE, 'archiveTimeStampSequence'));
  der(() => r.finish('EvidenceRecord trailing fields'));
  const chains = [];
  const cr = children(seq);
  while (!cr.isEmpty()) {
    const chain = der(() => cr.next(T.SEQUENCE, 'ArchiveTimeStampChain'));
    const stamps = [];
    const sr = children(chain);
    while (!sr.isEmpty()) stamps.push(archiveTimeStamp(der(() => sr.next(T.SEQUENCE, 'ArchiveTimeStamp'))));
    if (!stamps.length) throw malformed('an empty ArchiveTimeStampChain');
    if (stamps.some((s) => s.alg !== stamps[0].alg)) throw malformed('archive time-stamps of one chain use different hash algorithms');
    chains.push({ raw: chain.raw, stamps });
  }
  if (!chains.length) throw malformed('no archive time-stamp');
  const used = [];
  for (const c of chains) if (!used.includes(c.stamps[0].alg)) used.push(c.stamps[0].alg);
  if (used.length !== digestAlgorithms.length || used.some((a, i) => a !== digestAlgorithms[i])) {
    throw malformed("digestAlgorithms is not the chains' algorithms in order of first use");
  }
  return { digestAlgorithms, chains };
}

// ---- hash rules (tree.rs) ----

async function hash(alg, bytes) {
  return new Uint8Array(await crypto.subtle.digest(ALGS[alg].webcrypto, bytes));
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

const listHash = (alg, list) => hash(alg, concat([...list].sort(compareBytes)));

async function reduce(alg, tree) {
  let value = await listHash(alg, tree[0]);
  for (const list of tree.slice(1)) {
    const joined = [...list];
    if (!joined.some((h) => bytesEqual(h, value))) joined.push(value);
    value = await listHash(alg, joined);
  }
  return value;
}

function sequenceDer(chains) {
  const content = concat(chains);
  const len = content.length;
  let header;
  if (len < 0x80) header = [0x30, len];
  else {
    const bytes = [];
    for (let v = len; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
    header = [0x30, 0x80 | bytes.length, ...bytes];
  }
  return concat([Uint8Array.from(header), content]);
}

// ---- the whole record (check.rs) ----

const KIND_WORD = { timestamp: 'time-stamp', hash_tree: 'hash-tree' };

/** One line, as mod.rs `ArchiveSummary::describe`. */
export function describe(s) {
  let out = `continuously protected since ${s.protected_since} (${s.algorithm})`;
  for (const r of s.renewals) out += `; ${KIND_WORD[r.kind]} renewal ${r.algorithm} ${r.gen_time}`;
  return `${out}; renew before ${s.renew_before}`;
}

async function rootOverData(n, alg, tree, objects, sequence, errs) {
  const leaves = [];
  for (const o of objects) {
    const d = o.digests.get(alg);
    if (!d) { errs.push(err('ArchiveDataNotCovered', { path: o.path, stamp: n })); continue; }
    leaves.push([o.path, sequence ? await hash(alg, concat([d, sequence])) : d]);
  }
  if (!tree) {
    if (leaves.length === 1) return leaves[0][1];
    errs.push(err('ArchiveHashTreeMismatch', { stamp: n, reason: `no reduced hash tree for ${leaves.length} data objects` }));
    return null;
  }
  const pool = [...tree[0]];
  for (const [path, leaf] of leaves) {
    const i = pool.findIndex((h) => bytesEqual(h, leaf));
    if (i >= 0) pool.splice(i, 1);
    else errs.push(err('ArchiveDataNotCovered', { path, stamp: n }));
  }
  if (pool.length) {
    errs.push(err('ArchiveHashTreeMismatch', { stamp: n, reason: `${pool.length} hash value(s) of the first list belong to no data object of the bundle` }));
  }
  return reduce(alg, tree);
}

async function rootOverLeaf(n, alg, tree, leaf, errs) {
  if (!tree) return leaf;
  if (!tree[0].some((h) => bytesEqual(h, leaf))) {
    errs.push(err('ArchiveHashTreeMismatch', { stamp: n, reason: "the first list does not hold the previous time-stamp's hash" }));
  }
  return reduce(alg, tree);
}

/** -> {summary} | {errs}; `verify(n, token, algOid, root)` as check.rs `verify_record`. */
export async function verifyRecord(rec, objects, verify) {
  const errs = [];
  const chainsRaw = rec.chains.map((c) => c.raw);
  let n = 0;
  let previous = null;
  const proven = [];
  for (let ci = 0; ci < rec.chains.length; ci++) {
    const chain = rec.chains[ci];
    for (let si = 0; si < chain.stamps.length; si++) {
      n += 1;
      const stamp = chain.stamps[si];
      const alg = stamp.alg;
      let root;
      if (si > 0) {
        const leaf = await hash(alg, chain.stamps[si - 1].timeStamp);
        root = await rootOverLeaf(n, alg, stamp.tree, leaf, errs);
      } else {
        const seq = ci > 0 ? await hash(alg, sequenceDer(chainsRaw.slice(0, ci))) : null;
        root = await rootOverData(n, alg, stamp.tree, objects, seq, errs);
      }
      if (!root) { previous = null; continue; }
      const kind = ci === 0 && si === 0 ? null : si === 0 ? 'hash_tree' : 'timestamp';
      const t = await verify(n, stamp.timeStamp, alg, root);
      if (t.genTime) {
        if (previous) {
          if (t.unix < previous.unix) {
            errs.push(err('ArchiveRenewalOutOfOrder', { stamp: n, gen_time: t.genTime, previous: previous.genTime }));
          } else if (t.unix > previous.notAfterUnix) {
            errs.push(err('ArchiveRenewalLate', { stamp: n, gen_time: t.genTime, expired: previous.notAfter }));
          }
        }
        previous = t;
        proven.push({ kind, alg, t });
      } else if (t.mismatch) {
        errs.push(err('ArchiveHashTreeMismatch', { stamp: n, reason: "the token's imprint is not the root of the hash tree" }));
        previous = null;
      } else {
        errs.push(err('ArchiveTimestampInvalid', { stamp: n, reason: t.invalid }));
        previous = null;
      }
    }
  }
  if (errs.length) return { errs };
  if (!proven.length) return { errs: [err('ArchiveRecordMalformed', { reason: 'no archive time-stamp' })] };
  const last = proven[proven.length - 1].t;
  return {
    summary: {
      protected_since: proven[0].t.genTime,
      algorithm: ALGS[proven[0].alg].name,
      renewals: proven.filter((p) => p.kind).map((p) => ({ kind: p.kind, algorithm: ALGS[p.alg].name, gen_time: p.t.genTime })),
      renew_before: last.notAfter,
    },
  };
}

async function dataObjects(ctx, algs, errs) {
  const out = [];
  for (const path of ctx.paths.filter(isDataObject)) {
    const digests = new Map();
    for (const alg of algs) {
      const known = alg === SHA256_OID ? ctx.digests.get(path) : null;
      if (known) {
        digests.set(alg, Uint8Array.from(known.sha256.match(/../g).map((h) => parseInt(h, 16))));
      } else if (alg === SHA256_OID) {
        const h = new Sha256();
        try {
          await ctx.src.stream(path, (b) => h.update(b));
          digests.set(alg, h.digest());
        } catch (e) {
          errs.push(err('ReadFailed', { path, reason: String(e.message || e) }));
        }
      } else {
        // WebCrypto has no streaming digest: SHA-384/512 read the file whole (at most
        // MAX_WHOLE_FILE_BYTES, else FileTooLarge).
        const bytes = await ctx.read(path, errs);
        if (bytes) digests.set(alg, await hash(alg, bytes));
      }
    }
    out.push({ path, digests });
  }
  return out;
}

/** The `archive` check; returns the summary when it passed, else null. */
export async function checkArchive(ctx, pinnedChain) {
  const files = ctx.paths.filter(isArchive);
  if (!files.length) { ctx.record('archive', [], 'not present'); return null; }
  const errs = [];
  for (const f of files) {
    if (f !== RECORD_PATH && chainNumber(f) === null) errs.push(err('ArchiveRecordMalformed', { reason: `unexpected file ${f}` }));
  }
  const bytes = await ctx.read(RECORD_PATH, errs);
  if (!bytes) { ctx.record('archive', errs, ''); return null; }
  let rec;
  try {
    rec = parseRecord(bytes);
  } catch (e) {
    if (!(e instanceof RecordError)) throw e;
    errs.push(e.failure);
    ctx.record('archive', errs, '');
    return null;
  }
  const count = rec.chains.reduce((k, c) => k + c.stamps.length, 0);
  const chains = files.filter((f) => chainNumber(f) !== null).length;
  let allNumbered = true;
  for (let i = 1; i <= count; i++) if (!ctx.has(chainPath(i))) allNumbered = false;
  if (chains !== count || !allNumbered) {
    errs.push(err('ArchiveRecordMalformed', { reason: `${count} archive time-stamps need archive/tsa-01.pem … ${chainPath(count)}, found ${chains} chain files` }));
  }
  const objects = await dataObjects(ctx, rec.digestAlgorithms, errs);
  const chainErrs = [];
  const verify = async (n, token, alg, root) => {
    const chain = pinnedChain || (await ctx.read(chainPath(n), chainErrs));
    if (!chain) return { invalid: `${chainPath(n)} missing` };
    return verifyTokenDigest(token, alg, root, chain);
  };
  const r = await verifyRecord(rec, objects, verify);
  if (r.errs) errs.push(...r.errs);
  errs.push(...chainErrs);
  const trust = pinnedChain ? 'pinned TSA chain' : 'TSA chains archive/tsa-NN.pem';
  const detail = r.summary ? `${describe(r.summary)} (${count} archive time-stamps, ${trust})` : '';
  const ok = !errs.length;
  ctx.record('archive', errs, detail);
  return ok ? r.summary : null;
}
