// Digest and signature algorithms of RFC 3161 tokens and their certificates, checked
// with WebCrypto (src/verify/timestamp/algorithms.rs, public_key.rs): SHA-256/384/512;
// RSASSA-PKCS1-v1_5 and RSASSA-PSS (MGF1 with the same hash, trailer 1) with RSA keys
// of 2048 to 8192 bits; ECDSA on P-256/P-384. SHA-1 only for the ESS v1 hash.
// It must fail closed: any other OID or parameter is an error naming it.

import { Malformed, T, children, single, oidToString, stripSignByte } from './der.js';

export class AlgError extends Error {}

const SHA2 = {
  '2.16.840.1.101.3.4.2.1': 'SHA-256',
  '2.16.840.1.101.3.4.2.2': 'SHA-384',
  '2.16.840.1.101.3.4.2.3': 'SHA-512',
};
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const MGF1 = '1.2.840.113549.1.1.8';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const CURVES = { '1.2.840.10045.3.1.7': ['P-256', 32], '1.3.132.0.34': ['P-384', 48] };
const NAMED = {
  '1.2.840.113549.1.1.11': ['pkcs1', 'SHA-256'],
  '1.2.840.113549.1.1.12': ['pkcs1', 'SHA-384'],
  '1.2.840.113549.1.1.13': ['pkcs1', 'SHA-512'],
  '1.2.840.10045.4.3.2': ['ecdsa', 'SHA-256'],
  '1.2.840.10045.4.3.3': ['ecdsa', 'SHA-384'],
  '1.2.840.10045.4.3.4': ['ecdsa', 'SHA-512'],
};
const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 8192;

const unsupported = (what, oid) => new AlgError(`unsupported algorithm in ${what}: ${oid}`);

/** WebCrypto name of a SHA-2 digest OID, or an error naming `what`. */
export function sha2(oid, what) {
  const name = SHA2[oid];
  if (!name) throw unsupported(what, oid);
  return name;
}

export async function digest(name, bytes) {
  return new Uint8Array(await crypto.subtle.digest(name, bytes));
}

/**
 * The scheme {kind: 'pkcs1'|'pss'|'ecdsa', hash, saltLength} of a signature
 * AlgorithmIdentifier; `keyOnlyHash` is used when the OID names only the key algorithm
 * (a SignerInfo may), null refuses such OIDs.
 */
export function signatureScheme(oid, paramsRaw, keyOnlyHash, what) {
  let scheme;
  if (NAMED[oid]) scheme = { kind: NAMED[oid][0], hash: NAMED[oid][1] };
  else if (oid === RSA_ENCRYPTION && keyOnlyHash) scheme = { kind: 'pkcs1', hash: keyOnlyHash };
  else if (oid === EC_PUBLIC_KEY && keyOnlyHash) scheme = { kind: 'ecdsa', hash: keyOnlyHash };
  else if (oid === RSASSA_PSS) return pssScheme(paramsRaw, what);
  else throw unsupported(what, oid);
  const nullOrAbsent = !paramsRaw || (paramsRaw.length === 2 && paramsRaw[0] === 0x05 && paramsRaw[1] === 0);
  if (!nullOrAbsent) throw new AlgError(`unsupported algorithm in ${what}: ${oid} with parameters`);
  return scheme;
}

/** RSASSA-PSS-params: [0] hash, [1] MGF1(hash), [2] salt length, [3] trailer field. */
function pssScheme(paramsRaw, what) {
  const bad = (detail) => new AlgError(`unsupported algorithm in ${what}: ${RSASSA_PSS} ${detail}`);
  if (!paramsRaw) throw bad('without parameters');
  const w = 'RSASSA-PSS parameters';
  let hashOid = '1.3.14.3.2.26';
  let mgf = null;
  let saltLength = 20;
  let trailer = 1;
  try {
    const r = children(single(paramsRaw, T.SEQUENCE, w));
    const explicit = (n) => { const t = r.nextIf(0xa0 | n, w); return t ? single(t.value, t.value[0], w) : null; };
    const alg = (t) => {
      const a = children(t);
      const oid = oidToString(a.next(T.OID, w).value);
      const params = a.isEmpty() ? null : a.nextAny(w);
      a.finish(w);
      return { oid, params };
    };
    const h = explicit(0);
    if (h) hashOid = alg(h).oid;
    const m = explicit(1);
    if (m) {
      const g = alg(m);
      mgf = { oid: g.oid, hash: g.params && g.params.tag === T.SEQUENCE ? alg(g.params).oid : null };
    }
    const smallInt = (t) => {
      const v = stripSignByte(t.value);
      if (t.tag !== T.INTEGER || v.length > 1 || (t.value[0] & 0x80)) throw new Malformed(w);
      return v[0];
    };
    const s = explicit(2);
    if (s) saltLength = smallInt(s);
    const tf = explicit(3);
    if (tf) trailer = smallInt(tf);
    r.finish(w);
  } catch (e) {
    if (e instanceof Malformed) throw e;
    throw new Malformed(w);
  }
  const hash = SHA2[hashOid];
  if (!hash) throw bad('hash (need SHA-256/384/512)');
  if (!mgf || mgf.oid !== MGF1 || mgf.hash !== hashOid) throw bad('mask generation (need MGF1 with the signature\'s hash)');
  if (trailer !== 1) throw bad('trailer field');
  return { kind: 'pss', hash, saltLength };
}

const b64url = (bytes) => {
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

/** A certificate's key: {type: 'ec', curve, size} | {type: 'rsa', jwk, pssOnly}. */
function publicKey(cert) {
  if (cert.keyAlg === EC_PUBLIC_KEY) {
    const c = CURVES[cert.curve];
    if (!c) throw new AlgError(`unsupported algorithm in certificate EC curve (need P-256 or P-384): ${cert.curve ?? 'none'}`);
    return { type: 'ec', curve: c[0], size: c[1] };
  }
  if (cert.keyAlg !== RSA_ENCRYPTION && cert.keyAlg !== RSASSA_PSS) {
    throw new AlgError(`unsupported algorithm in certificate public key (need EC or RSA): ${cert.keyAlg}`);
  }
  const w = 'certificate RSA public key';
  let n;
  let e;
  try {
    const r = children(single(cert.publicKey, T.SEQUENCE, w));
    n = r.next(T.INTEGER, w).value;
    e = r.next(T.INTEGER, w).value;
    r.finish(w);
  } catch {
    throw new Malformed(w);
  }
  if (!n.length || (n[0] & 0x80) || !e.length || (e[0] & 0x80)) throw new Malformed(w);
  n = stripSignByte(n);
  e = stripSignByte(e);
  const bits = n[0] === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(n[0]));
  if (bits < RSA_MIN_BITS) throw new AlgError(`an RSA key on the TSA path has ${bits} bits (need at least ${RSA_MIN_BITS})`);
  if (bits > RSA_MAX_BITS) throw new Malformed(w);
  return { type: 'rsa', jwk: { kty: 'RSA', n: b64url(n), e: b64url(e), ext: true }, pssOnly: cert.keyAlg === RSASSA_PSS };
}

/** DER ECDSA-Sig-Value -> r||s of `size`-byte halves, or null. */
function rawEcdsa(der, size) {
  try {
    const r = children(single(der, T.SEQUENCE, 'sig'));
    const a = stripSignByte(r.next(T.INTEGER, 'sig').value);
    const b = stripSignByte(r.next(T.INTEGER, 'sig').value);
    r.finish('sig');
    if (a.length > size || b.length > size) return null;
    const out = new Uint8Array(2 * size);
    out.set(a, size - a.length);
    out.set(b, 2 * size - b.length);
    return out;
  } catch {
    return null;
  }
}

/** True when `signature` is `cert`'s key's signature over `data` by `scheme`. */
export async function verifySignature(cert, scheme, data, signature) {
  const key = publicKey(cert);
  const mismatch = () => new AlgError("a signature's algorithm does not fit the signing certificate's key type");
  if (key.type === 'ec') {
    if (scheme.kind !== 'ecdsa') throw mismatch();
    let k;
    try {
      k = await crypto.subtle.importKey('spki', cert.spki, { name: 'ECDSA', namedCurve: key.curve }, false, ['verify']);
    } catch {
      throw new Malformed('certificate EC public key');
    }
    const sig = rawEcdsa(signature, key.size);
    return !!sig && crypto.subtle.verify({ name: 'ECDSA', hash: scheme.hash }, k, sig, data);
  }
  if (scheme.kind === 'ecdsa' || (scheme.kind === 'pkcs1' && key.pssOnly)) throw mismatch();
  const name = scheme.kind === 'pss' ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5';
  let k;
  try {
    k = await crypto.subtle.importKey('jwk', key.jwk, { name, hash: scheme.hash }, false, ['verify']);
  } catch {
    throw new Malformed('certificate RSA public key');
  }
  const params = scheme.kind === 'pss' ? { name, saltLength: scheme.saltLength } : { name };
  try {
    return await crypto.subtle.verify(params, k, signature, data);
  } catch {
    return false;
  }
}
