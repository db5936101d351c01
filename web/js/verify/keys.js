// Key encodings and signatures of bundles (src/verify/keys.rs): base64 variants, SPKI PEM
// Ed25519 keys, C2SP verifier keys, key ids, fingerprints, and Ed25519 verification via
// WebCrypto with the extra `verify_strict` rule that small-order keys and R are refused.
// Owns only public keys; it must never hold or derive a private key.

import { sha256, toHex, bytesEqual } from './sha256.js';

export class KeyError extends Error {}

const SPKI_PREFIX = new Uint8Array([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const utf8 = new TextEncoder();

/** Strict standard base64 (padding required, no whitespace); null if invalid. */
export function b64decode(s) {
  if (typeof s !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) return null;
  const bin = atob(s);
  const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (b64encode(out) !== s) return null; // non-canonical trailing bits
  return out;
}

/** Strict base64url without padding; null if invalid. */
export function b64urlDecode(s) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
  let t = s.replace(/-/g, '+').replace(/_/g, '/');
  while (t.length % 4) t += '=';
  return b64decode(t);
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

/** A 32-byte Ed25519 public key, imported for WebCrypto. */
export class EdKey {
  constructor(raw) {
    if (!(raw instanceof Uint8Array) || raw.length !== 32) throw new KeyError('not an Ed25519 public key');
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
  if (!t.startsWith(begin) || !t.endsWith(end)) throw new KeyError(`not a PEM public key: expected one ${label} block`);
  const der = b64decode(t.slice(begin.length, t.length - end.length).replace(/\s+/g, ''));
  if (!der) throw new KeyError('not a PEM public key: bad base64');
  return der;
}

/** SPKI PEM -> EdKey. */
export function parsePublicKeyPem(text) {
  const der = pemDecode(text, 'PUBLIC KEY');
  if (der.length !== 44 || !bytesEqual(der.subarray(0, 12), SPKI_PREFIX)) throw new KeyError('not an Ed25519 public key');
  return new EdKey(der.slice(12));
}

/** key id = first 4 bytes of SHA-256(name || 0x0A || 0x01 || key). */
export function keyId(name, key) {
  return sha256(utf8.encode(name), new Uint8Array([0x0a, 0x01]), key.raw).slice(0, 4);
}

/** `name+keyid+base64(0x01||key)` -> {name, keyId, key}. */
export function parseVkey(text) {
  const t = text.trim();
  const a = t.indexOf('+');
  const b = a < 0 ? -1 : t.indexOf('+', a + 1);
  if (a < 0 || b < 0) throw new KeyError('malformed signed-note verifier key: expected name+keyid+key');
  const name = t.slice(0, a);
  const idHex = t.slice(a + 1, b);
  if (!name || /[\s+]/u.test(name)) throw new KeyError('malformed signed-note verifier key: bad key name');
  const raw = b64decode(t.slice(b + 1));
  if (!raw) throw new KeyError('malformed signed-note verifier key: bad base64');
  if (raw.length < 1 || raw[0] !== 0x01) throw new KeyError('malformed signed-note verifier key: not an Ed25519 key');
  const key = new EdKey(raw.slice(1));
  const id = keyId(name, key);
  if (idHex.toLowerCase() !== toHex(id) || idHex.length !== 8) {
    throw new KeyError('malformed signed-note verifier key: key id does not match name and key');
  }
  return { name, keyId: id, key };
}

export const vkeyEquals = (a, b) => !!a && !!b && a.name === b.name && bytesEqual(a.keyId, b.keyId) && a.key.equals(b.key);

/** Raw base64url key (key_bound entries). */
export function parseRawB64url(text) {
  const raw = b64urlDecode(text);
  if (!raw) throw new KeyError('malformed signed-note verifier key: bad base64url');
  return new EdKey(raw);
}
