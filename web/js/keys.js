// keys.js — the participant's attestation key: a non-extractable WebCrypto Ed25519
// key pair made at first join and kept in this browser's IndexedDB (as a CryptoKey,
// which stays non-extractable), so reopening the link rejoins with the same key.
// Must never export or send the private key; only the raw public key leaves, base64url.

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
  let pair;
  try {
    pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
  } catch (_e) {
    return null;
  }
  if (db) {
    try {
      await tx(db, 'readwrite', (s) => s.put(pair, participantId));
    } catch (_e) {
      // not kept: the next visit makes a new key, which the server binds again
    }
  }
  return describe(pair);
}

async function describe(pair) {
  const raw = await crypto.subtle.exportKey('raw', pair.publicKey);
  return { pair, publicKey: base64url(raw) };
}

/** Proves this browser holds the invitation's bound key: an Ed25519 signature over the
 * server's challenge (docs/protocol.md, device binding), base64url; null without a key. */
export async function deviceProof(key, challenge) {
  if (!key || !challenge) return null;
  const text = `sworn-device-proof-v1\n${challenge.hearing}\n${challenge.participant}\n${challenge.nonce}`;
  try {
    const sig = await crypto.subtle.sign({ name: 'Ed25519' }, key.pair.privateKey, new TextEncoder().encode(text));
    return base64url(sig);
  } catch (_e) {
    return null;
  }
}
