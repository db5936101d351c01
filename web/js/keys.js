// keys.js — the participant's attestation key: a non-extractable WebCrypto key pair
// made at first join and kept in this browser's IndexedDB (as a CryptoKey, which stays
// non-extractable), so reopening the link rejoins with the same key. Ed25519 where the
// browser has it, else ECDSA P-256 (`alg: "ES256"`, docs/bundle-format.md §1); a kept
// key keeps its algorithm. Must never export or send the private key; only the raw
// public key leaves, base64url, with its algorithm's name.

const DB = 'sworn-keys';
const STORE = 'keys';

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function tx(db, mode, run) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const req = run(t.objectStore(STORE));
    t.oncomplete = () => resolve(req.result);
    t.onerror = () => reject(t.error);
  });
}

export function base64url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The key pair for this participant (made once per browser), or null if unsupported. */
export async function participantKey(participantId) {
  let db = null;
  try {
    db = await openDb();
    const stored = await tx(db, 'readonly', (s) => s.get(participantId));
    if (stored && stored.privateKey && stored.publicKey) return await describe(stored);
  } catch (_e) {
    db = null; // private browsing or storage blocked: a fresh key for this visit
  }
  let pair = null;
  for (const params of [{ name: 'Ed25519' }, { name: 'ECDSA', namedCurve: 'P-256' }]) {
    try {
      pair = await crypto.subtle.generateKey(params, false, ['sign', 'verify']);
      break;
    } catch (_e) {
      // not supported here: try the next algorithm
    }
  }
  if (!pair) return null;
  if (db) {
    try {
      await tx(db, 'readwrite', (s) => s.put(pair, participantId));
    } catch (_e) {
      // not kept: the next visit makes a new key, which the server binds again
    }
  }
  return describe(pair);
}

/** `key_bound`/`hello` name of a key's algorithm: `Ed25519` or `ES256`. */
export function algOf(cryptoKey) {
  return cryptoKey.algorithm.name === 'ECDSA' ? 'ES256' : 'Ed25519';
}

/** WebCrypto sign parameters for a private key (ECDSA: SHA-256, raw r||s output). */
export function signParams(privateKey) {
  return algOf(privateKey) === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' };
}

async function describe(pair) {
  // ECDSA 'raw' export is the uncompressed SEC1 point (65 bytes).
  const raw = await crypto.subtle.exportKey('raw', pair.publicKey);
  return { pair, publicKey: base64url(raw), alg: algOf(pair.publicKey) };
}

/** The `hello` fields that bind a key: `public_key`, and `alg` unless Ed25519 (which old
 * servers assume). */
export function helloKey(key) {
  if (!key) return {};
  return key.alg === 'Ed25519' ? { public_key: key.publicKey } : { public_key: key.publicKey, alg: key.alg };
}

/** Proves this browser holds the invitation's bound key: a signature by it over the
 * server's challenge (docs/protocol.md, device binding), base64url; null without a key. */
export async function deviceProof(key, challenge) {
  if (!key || !challenge) return null;
  const text = `sworn-device-proof-v1\n${challenge.hearing}\n${challenge.participant}\n${challenge.nonce}`;
  try {
    const sig = await crypto.subtle.sign(signParams(key.pair.privateKey), key.pair.privateKey, new TextEncoder().encode(text));
    return base64url(sig);
  } catch (_e) {
    return null;
  }
}
