// Key encodings and signatures of bundles (src/verify/keys.rs): base64 variants, SPKI PEM
// Ed25519 keys, C2SP verifier keys, key ids, fingerprints, and Ed25519 verification via
// WebCrypto with the extra `verify_strict` rule that small-order keys and R are refused;
// participants' keys under `key_bound.alg` (absent = Ed25519, `ES256` = ECDSA P-256 with
// SHA-256, raw r||s, high or low S). Owns only public keys; it must never hold or derive
// a private key, and it refuses an algorithm it does not know.

import { sha256, toHex, bytesEqual } from './sha256.js';

export class KeyError extends Error {}

const utf8 = new TextEncoder();
const SPKI_PREFIX = new Uint8Array([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const table = (alphabet) => {
  const t = new Int16Array(256).fill(-1);
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
};
const STD_T = table(STD);
const URL_T = table(URL);
const PAD = 0x3d;

/**
 * Base64 decoding with the `base64` crate's rules and error wording (0.22, no trailing
 * bits; `canonical` = padding required as STANDARD, else none as URL_SAFE_NO_PAD).
 * Returns {bytes} or {error}.
 */
export function b64decodeRust(text, { url = false } = {}) {
  const input = utf8.encode(text);
  const t = url ? URL_T : STD_T;
  const len = input.length;
  const rem = len % 4;
  const bad = (i, b) => ({ error: `Invalid symbol ${b}, offset ${i}.` });
  if (rem === 1 && input[len - 1] !== PAD && t[input[len - 1]] < 0) return bad(len - 1, input[len - 1]);
  const quads = Math.max(0, len - rem - (rem === 0 ? 4 : 0));
  const out = [];
  for (let i = 0; i < quads; i += 4) {
    let acc = 0;
    for (let k = 0; k < 4; k++) {
      const m = t[input[i + k]];
      if (m < 0) return bad(i + k, input[i + k]);
      acc = (acc << 6) | m;
    }
    out.push((acc >>> 16) & 255, (acc >>> 8) & 255, acc & 255);
  }
  let morsels = 0;
  let pads = 0;
  let firstPad = 0;
  let last = 0;
  const ms = [0, 0, 0, 0];
  for (let k = 0; quads + k < len; k++) {
    const b = input[quads + k];
    if (b === PAD) {
      if (k < 2) return bad(quads + k, b);
      if (pads === 0) firstPad = k;
      pads++;
      continue;
    }
    if (pads > 0) return bad(quads + firstPad, PAD);
    last = b;
    const m = t[b];
    if (m < 0) return bad(quads + k, b);
    ms[morsels++] = m;
  }
  if (len > 0 && morsels < 2) return { error: `Invalid input length: ${quads + morsels}` };
  if (url ? pads > 0 : (pads + morsels) % 4 !== 0) return { error: 'Invalid padding' };
  const nbytes = (morsels * 6) >> 3;
  const num = ((ms[0] << 26) | (ms[1] << 20) | (ms[2] << 14) | (ms[3] << 8)) >>> 0;
  const mask = nbytes === 0 ? 0xffffffff : (0xffffffff >>> (nbytes * 8)) >>> 0;
  if (len > 0 && (num & mask) >>> 0 !== 0) return { error: `Invalid last symbol ${last}, offset ${quads + morsels - 1}.` };
  for (let k = 0; k < nbytes; k++) out.push((num >>> (24 - 8 * k)) & 255);
  return { bytes: Uint8Array.from(out) };
}

/** Standard base64 (padding required); null if invalid. */
export function b64decode(s) {
  return typeof s === 'string' ? b64decodeRust(s).bytes ?? null : null;
}

/** base64url without padding; null if invalid. */
export function b64urlDecode(s) {
  return typeof s === 'string' ? b64decodeRust(s, { url: true }).bytes ?? null : null;
}

export function b64encode(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin);
}

// Canonical encodings of the eight small-order points (and sign-flipped variants), which
// ed25519-dalek's verify_strict refuses as key or as R.
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
];

const P = (1n << 255n) - 19n;
const modpow = (b, e) => {
  let r = 1n;
  b %= P;
  for (; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P;
  return r;
};
const D = (((-121665n * modpow(121666n, P - 2n)) % P) + P) % P;

/** True if the encoding decompresses to a curve point (as curve25519-dalek decides). */
export function isEdPoint(raw) {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? raw[i] & 0x7f : raw[i]);
  y %= P;
  const y2 = (y * y) % P;
  const u = (y2 - 1n + P) % P;
  const v = (D * y2 + 1n) % P;
  const x2 = (u * modpow(v, P - 2n)) % P;
  return x2 === 0n || modpow(x2, (P - 1n) / 2n) === 1n;
}

/** A 32-byte Ed25519 public key, imported for WebCrypto. */
export class EdKey {
  constructor(raw) {
    if (!(raw instanceof Uint8Array) || raw.length !== 32) throw new KeyError('not an Ed25519 public key');
    if (!isEdPoint(raw)) throw new KeyError('invalid Ed25519 point');
    this.raw = raw;
    this.hex = toHex(raw);
    this.cryptoKey = null;
  }
  equals(o) { return !!o && bytesEqual(this.raw, o.raw); }
  fingerprint() { return 'sha256:' + toHex(sha256(this.raw)); }

  /** verify_strict: true iff `sig` (64 bytes) is this key's signature over `msg`. */
  async verify(msg, sig) {
    if (!(sig instanceof Uint8Array) || sig.length !== 64) return false;
    if (SMALL_ORDER.includes(this.hex) || SMALL_ORDER.includes(toHex(sig.subarray(0, 32)))) return false;
    try {
      if (!this.cryptoKey) {
        this.cryptoKey = await crypto.subtle.importKey('raw', this.raw, { name: 'Ed25519' }, false, ['verify']);
      }
      return await crypto.subtle.verify({ name: 'Ed25519' }, this.cryptoKey, sig, msg);
    } catch {
      return false;
    }
  }
}

/** Body of a single PEM block with the given label. */
export function pemDecode(text, label) {
  const t = text.trim();
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  if (!t.startsWith(begin) || !t.endsWith(end) || t.length < begin.length + end.length) {
    throw new KeyError(`not a PEM public key: expected one ${label} block`);
  }
  const d = b64decodeRust(t.slice(begin.length, t.length - end.length).replace(/\s/gu, ''));
  if (d.error) throw new KeyError(`not a PEM public key: ${d.error}`);
  return d.bytes;
}

/** SPKI PEM -> EdKey. */
export function parsePublicKeyPem(text) {
  const der = pemDecode(text, 'PUBLIC KEY');
  if (der.length < 12 || !bytesEqual(der.subarray(0, 12), SPKI_PREFIX)) throw new KeyError('not an Ed25519 public key');
  return new EdKey(der.slice(12));
}

/** key id = first 4 bytes of SHA-256(name || 0x0A || 0x01 || key). */
export function keyId(name, key) {
  return sha256(utf8.encode(name), new Uint8Array([0x0a, 0x01]), key.raw).slice(0, 4);
}

function hexDecode(h) {
  if (h.length % 2) return { error: 'Odd number of digits' };
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < h.length; i++) {
    if (!/[0-9a-fA-F]/.test(h[i])) return { error: `Invalid character ${JSON.stringify(h[i]).replace(/^"|"$/g, "'")} at position ${i}` };
  }
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return { bytes: out };
}

/** `name+keyid+base64(0x01||key)` -> {name, keyId, key}; errors worded as keys.rs. */
export function parseVkey(text) {
  const bad = (m) => new KeyError(`malformed signed-note verifier key: ${m}`);
  const t = text.trim();
  const a = t.indexOf('+');
  const b = a < 0 ? -1 : t.indexOf('+', a + 1);
  if (a < 0 || b < 0) throw bad('expected name+keyid+key');
  const name = t.slice(0, a);
  const idHex = t.slice(a + 1, b);
  if (!name || /[\s+]/u.test(name)) throw bad('bad key name');
  const raw = b64decodeRust(t.slice(b + 1));
  if (raw.error) throw bad(raw.error);
  if (raw.bytes.length < 1 || raw.bytes[0] !== 0x01) throw bad('not an Ed25519 key');
  const key = new EdKey(raw.bytes.slice(1));
  const id = hexDecode(idHex);
  if (id.error) throw bad(id.error);
  const expected = keyId(name, key);
  if (!bytesEqual(id.bytes, expected)) throw bad('key id does not match name and key');
  return { name, keyId: expected, key };
}

export const vkeyEquals = (a, b) => !!a && !!b && a.name === b.name && bytesEqual(a.keyId, b.keyId) && a.key.equals(b.key);

/** Raw base64url key (key_bound entries). */
export function parseRawB64url(text) {
  const raw = b64decodeRust(text, { url: true });
  if (raw.error) throw new KeyError(`malformed signed-note verifier key: ${raw.error}`);
  return new EdKey(raw.bytes);
}

// --- ECDSA P-256 participant keys (key_bound alg "ES256") ---

const P256_SPKI_PREFIX = new Uint8Array([
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
  0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
]);
const P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const BAD_P256 = 'not a P-256 public key (uncompressed SEC1 point)';

function bigFrom(bytes) {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** A 65-byte uncompressed SEC1 P-256 point (checked on the curve), for WebCrypto ECDSA. */
export class EcKey {
  constructor(raw) {
    if (!(raw instanceof Uint8Array) || raw.length !== 65 || raw[0] !== 0x04) throw new KeyError(BAD_P256);
    const x = bigFrom(raw.subarray(1, 33));
    const y = bigFrom(raw.subarray(33, 65));
    const p = P256_P;
    if (x >= p || y >= p || (y * y) % p !== (((x * x % p) * x - 3n * x + P256_B) % p + p) % p) throw new KeyError(BAD_P256);
    this.raw = raw;
    this.alg = 'ES256';
    this.cryptoKey = null;
  }
  equals(o) { return !!o && o.alg === this.alg && bytesEqual(this.raw, o.raw); }

  /** ECDSA P-256 / SHA-256 over `msg`, `sig` = raw r||s (64 bytes). */
  async verify(msg, sig) {
    if (!(sig instanceof Uint8Array) || sig.length !== 64) return false;
    try {
      if (!this.cryptoKey) {
        this.cryptoKey = await crypto.subtle.importKey('raw', this.raw, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      }
      return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, this.cryptoKey, sig, msg);
    } catch {
      return false;
    }
  }
}

/** The algorithm named by `key_bound.alg` (undefined = Ed25519), or throws KeyError. */
export function keyAlg(alg) {
  if (alg === undefined || alg === 'Ed25519') return 'Ed25519';
  if (alg === 'ES256') return 'ES256';
  throw new KeyError(`unsupported key algorithm ${JSON.stringify([...String(alg)].slice(0, 40).join(''))} (known: Ed25519, ES256)`);
}

/** `key_bound` public_key under its alg -> EdKey | EcKey. */
export function parseParticipantKey(alg, text) {
  if (keyAlg(alg) === 'Ed25519') return parseRawB64url(text);
  const raw = b64decodeRust(text, { url: true });
  if (raw.error) throw new KeyError(BAD_P256);
  return new EcKey(raw.bytes);
}

/** SPKI PEM of a participant key of either algorithm. */
export function parseParticipantPem(text) {
  const der = pemDecode(text, 'PUBLIC KEY');
  if (der.length >= 12 && bytesEqual(der.subarray(0, 12), SPKI_PREFIX)) return new EdKey(der.slice(12));
  if (der.length >= 26 && bytesEqual(der.subarray(0, 26), P256_SPKI_PREFIX)) return new EcKey(der.slice(26));
  throw new KeyError('not an Ed25519 public key');
}
