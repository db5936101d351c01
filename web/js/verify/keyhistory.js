// Server key history (`sworn-key-history/1`, docs/bundle-format.md §12), as
// src/verify/key_history.rs and src/verify/bundle/signers.rs: parse and verify a history
// (each key's statement signed by itself and by its predecessor), decide whether a pinned
// key or history leads to a bundle's key, and the keys that may sign its checkpoints.
// Same rules and the same words as the Rust verifier; it must fail closed.

import { parseCanonical, parseBytes } from './canonical.js';
import { parseMs } from './entry.js';
import { EdKey, keyId, b64decodeRust, parseRawB64url } from './keys.js';

export const HISTORY_FORMAT = 'sworn-key-history/1';
export const HISTORY_PATH = 'keys/history.json';
export const CUSTODY_HISTORY_PATH = 'custody/history.json';
const MAX_KEYS = 1000;

export class KeyHistoryError extends Error {}

// canonical.js parses objects as Maps; the checks below read plain own-property objects.
const obj = (m) => (m instanceof Map ? Object.fromEntries(m) : null);
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStr = (v) => typeof v === 'string';
const isUint = (v) => typeof v === 'bigint' ? v >= 0n : Number.isInteger(v) && v >= 0;
const num = (v) => (typeof v === 'bigint' ? v : BigInt(v));
const utf8 = new TextEncoder();

function onlyFields(o, required, optional = []) {
  if (!isObj(o)) return false;
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) return false;
  return required.every((k) => k in o);
}

function sig(text) {
  const r = b64decodeRust(text, { url: true });
  return !r.error && r.bytes.length === 64 ? r.bytes : null;
}

/** Parses and verifies a history document (bytes); throws KeyHistoryError. */
export async function parseHistory(bytes) {
  const bad = (m) => new KeyHistoryError(`key history malformed: ${m}`);
  let doc;
  try { doc = obj(parseCanonical(bytes)); } catch { throw bad('not canonical JSON'); }
  if (doc && Array.isArray(doc.keys)) doc.keys = doc.keys.map(obj);
  const docOk = onlyFields(doc, ['format', 'server', 'keys']) && isStr(doc.format) && isStr(doc.server)
    && Array.isArray(doc.keys) && doc.keys.every((k) => onlyFields(k, ['statement', 'signature'], ['signature_previous'])
      && isStr(k.statement) && isStr(k.signature) && (k.signature_previous == null || isStr(k.signature_previous)));
  if (!docOk) throw bad('fields are not format, server and keys');
  if (doc.format !== HISTORY_FORMAT) throw bad(`unknown format ${JSON.stringify(doc.format)}`);
  if (!doc.server || /[\s+]/u.test(doc.server)) throw bad('bad server name');
  if (!doc.keys.length || doc.keys.length > MAX_KEYS) throw bad('a history holds 1 to 1000 keys');
  const out = [];
  for (let index = 0; index < doc.keys.length; index++) {
    const k = doc.keys[index];
    const fail = (reason) => new KeyHistoryError(`key ${index} of the history: ${reason}`);
    const raw = utf8.encode(k.statement);
    let st;
    try { st = obj(parseCanonical(raw)); } catch { throw fail('statement is not canonical JSON'); }
    const fieldsOk = onlyFields(st, ['v', 'type', 'server', 'index', 'public_key', 'fingerprint', 'since'], ['previous'])
      && isUint(st.v) && num(st.v) <= 0xffffffffn && isStr(st.type) && isStr(st.server) && isUint(st.index)
      && isStr(st.public_key) && isStr(st.fingerprint) && isStr(st.since) && (st.previous == null || isStr(st.previous));
    if (!fieldsOk) throw fail('statement fields are wrong');
    if (num(st.v) !== 1n || st.type !== 'sworn-key' || st.server !== doc.server) {
      throw fail('statement has the wrong version, type or server');
    }
    if (num(st.index) !== BigInt(index)) throw fail('statement index is not its position');
    let key;
    try { key = parseRawB64url(st.public_key); } catch { throw fail('public_key is not an Ed25519 key'); }
    if (st.fingerprint !== key.fingerprint()) throw fail("fingerprint is not the key's");
    if (out.some((h) => h.key.equals(key))) throw fail('key appears twice');
    const sinceMs = parseMs(st.since);
    if (sinceMs === null) throw fail('since is not an RFC 3339 UTC time');
    const prev = out.length ? out[out.length - 1] : null;
    if (prev && sinceMs < prev.sinceMs) throw fail("since is before the previous key's");
    if ((st.previous ?? null) !== (prev ? prev.key.fingerprint() : null)) throw fail('previous does not name the key before it');
    const own = sig(k.signature);
    if (!own) throw fail('signature is not 64 bytes of base64url');
    if (!(await key.verify(raw, own))) throw fail("the key's own signature does not verify");
    const sp = k.signature_previous ?? null;
    if (!prev && sp !== null) throw fail('the first key has no predecessor to sign it');
    if (prev && sp === null) throw fail('signature_previous is missing');
    if (prev) {
      const s = sig(sp);
      if (!s) throw fail('signature_previous is not 64 bytes of base64url');
      if (!(await prev.key.verify(raw, s))) throw fail("the previous key's signature does not verify");
    }
    out.push({ key, since: st.since, sinceMs });
  }
  return new KeyHistory(doc.server, out);
}

export class KeyHistory {
  constructor(server, keys) { this.server = server; this.keys = keys; }
  position(key) { return this.keys.findIndex((k) => k.key.equals(key)); }
  current() { return this.keys.length ? this.keys[this.keys.length - 1].key : null; }
  retiredMs(i) { return i + 1 < this.keys.length ? this.keys[i + 1].sinceMs : null; }
  /** First index where the two differ (a fork), or -1. */
  conflictWith(o) {
    if (this.server !== o.server) return 0;
    const n = Math.min(this.keys.length, o.keys.length);
    for (let i = 0; i < n; i++) if (!this.keys[i].key.equals(o.keys[i].key)) return i;
    return -1;
  }
  /** [{verifier: {name, keyId, key}, retired: ms|null}] */
  ring() {
    return this.keys.map((k, i) => ({
      verifier: { name: this.server, keyId: keyId(this.server, k.key), key: k.key },
      retired: this.retiredMs(i),
    }));
  }
}

/** True if a --trust text is a history document rather than a key. */
export const looksLikeHistory = (text) => text.trimStart().startsWith('{');

/** Reads a pasted/pinned history text (trailing whitespace ignored). */
export async function parseHistoryText(text) {
  return parseHistory(utf8.encode(text.replace(/\s+$/u, '')));
}

/**
 * src/verify/key_history.rs `decide`: pin = {key: EdKey} | {history: KeyHistory}.
 * -> {ok: {via: EdKey|null, retiredMs}} | {unknown: true} | {conflict: index}.
 */
export function decide(pin, key, carried) {
  const fromCarried = (pinned) => {
    if (!carried) return null;
    const i = carried.position(pinned);
    const j = carried.position(key);
    return i >= 0 && j >= 0 && i < j ? { ok: { via: pinned, retiredMs: null } } : null;
  };
  if (pin.key) {
    if (pin.key.equals(key)) return { ok: { via: null, retiredMs: null } };
    return fromCarried(pin.key) || { unknown: true };
  }
  const h = pin.history;
  if (carried) {
    const c = carried.conflictWith(h);
    if (c >= 0) return { conflict: c };
  }
  const i = h.position(key);
  if (i >= 0) return { ok: { via: null, retiredMs: h.retiredMs(i) } };
  return (h.current() && fromCarried(h.current())) || { unknown: true };
}

/** The checkpoint signers: [{verifier, retired}] (signers.rs `signers`). */
export function signersRing(current, carried, pin) {
  const pinnedRetired = (key) => {
    if (!pin || !pin.history) return null;
    const i = pin.history.position(key);
    return i >= 0 ? pin.history.retiredMs(i) : null;
  };
  const min = (a, b) => (a === null ? b : b === null ? a : Math.min(a, b));
  if (carried) return carried.ring().map((r) => ({ verifier: r.verifier, retired: min(r.retired, pinnedRetired(r.verifier.key)) }));
  return [{ verifier: current, retired: pinnedRetired(current.key) }];
}

export { EdKey, parseBytes };
