// attest.js — signed statements (docs/bundle-format.md §1, §6) made in the browser.
// Owns: the canonical JSON writer (keys sorted by UTF-16 code units, no whitespace,
// integers only, minimal escaping), building a statement for this participant from the
// latest checkpoint, signing it with the participant's non-extractable key (keys.js:
// Ed25519, or ECDSA P-256 where the browser lacks Ed25519) and sending it as an
// `attest` message; automatic co-signing of each new checkpoint (at most once per
// checkpoint). Must never export the private key, never
// sign a statement naming another participant, and never send a float or an unsorted
// object as "canonical".

import { base64url, signParams } from './keys.js';

export class CanonicalError extends Error {}

function escapeString(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Compare two strings by UTF-16 code units (JS `<` on strings does exactly this). */
function byCodeUnits(a, b) {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

/** Canonical JSON text of a value: objects, arrays, strings, booleans, null and safe
 * integers only (a float, NaN, -0 or an unsafe integer throws CanonicalError). */
export function canonicalJson(value) {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new CanonicalError('lone surrogate in a string');
    return escapeString(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || Object.is(value, -0)) throw new CanonicalError(`not an integer: ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort(byCodeUnits);
    return `{${keys.map((k) => `${escapeString(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  throw new CanonicalError(`cannot encode ${typeof value}`);
}

const encoder = new TextEncoder();

/** Signature (base64url, no padding) of bytes with a WebCrypto private key, under the
 * key's own algorithm (Ed25519, or ECDSA P-256 / SHA-256 as raw r||s). */
export async function signBytes(privateKey, bytes) {
  const sig = await crypto.subtle.sign(signParams(privateKey), privateKey, bytes);
  return base64url(sig);
}

/** A valid checkpoint reference from a server message, or null. */
export function checkpointOf(cp) {
  if (!cp || typeof cp !== 'object') return null;
  if (!Number.isSafeInteger(cp.size) || cp.size < 0 || typeof cp.root !== 'string') return null;
  return { root: cp.root, size: cp.size };
}

/** One participant's signer: holds the latest checkpoint and sends `attest` messages. */
export class Attestor {
  /**
   * @param {{hearingId: string, participantId: () => string|null,
   *          key: {pair: CryptoKeyPair, publicKey: string}|null,
   *          send: (msg: object) => void, cosignText: (n: number) => string,
   *          cosignEveryMs?: number}} opts
   * Co-signing: at most one per checkpoint, and at most one per `cosignEveryMs`
   * (default 30 s) so a long hearing does not fill its log with co-signatures: the
   * server signs a checkpoint every 10 s while media flows.
   */
  constructor(opts) {
    this.opts = opts;
    this.latest = null;
    this.cosigned = new Set();
    this.lastCosign = -Infinity;
    this.every = Number.isFinite(opts.cosignEveryMs) ? opts.cosignEveryMs : 30_000;
  }

  get canSign() {
    return !!(this.opts.key && this.opts.key.pair && this.opts.participantId());
  }

  /** The statement text for a kind (canonical JSON). */
  statement(kind, text, checkpoint, extra = {}) {
    const cp = checkpointOf(checkpoint || this.latest);
    if (!cp) throw new CanonicalError('no checkpoint yet');
    const body = { ...extra, checkpoint: cp, hearing: this.opts.hearingId, kind, participant: this.opts.participantId(), text, v: 1 };
    return canonicalJson(body);
  }

  /** Sign and send a statement; resolves with its text. */
  async sign(kind, text, extra = {}, checkpoint = null) {
    if (!this.canSign) throw new Error('no attestation key');
    const statement = this.statement(kind, text, checkpoint, extra);
    const signature = await signBytes(this.opts.key.pair.privateKey, encoder.encode(statement));
    this.opts.send({ type: 'attest', statement, signature });
    return statement;
  }

  /** A signature over exact UTF-8 bytes of a string (the minutes HTML). */
  async signText(s) {
    if (!this.canSign) throw new Error('no attestation key');
    return signBytes(this.opts.key.pair.privateKey, encoder.encode(s));
  }

  /** A `checkpoint` message: remember it and co-sign it once. */
  async onCheckpoint(checkpoint) {
    const cp = checkpointOf(checkpoint);
    if (!cp) return;
    if (!this.latest || cp.size >= this.latest.size) this.latest = cp;
    const id = `${cp.size}:${cp.root}`;
    if (this.cosigned.has(id) || !this.canSign) return;
    const now = Date.now();
    if (now - this.lastCosign < this.every) return;
    this.lastCosign = now;
    this.cosigned.add(id);
    try {
      await this.sign('cosign', this.opts.cosignText(cp.size), {}, cp);
    } catch (_e) {
      this.cosigned.delete(id);
      this.lastCosign = -Infinity;
    }
  }
}
