// RFC 6962 / 9162 Merkle hashing (src/verify/merkle.rs): leaf and node hashes, the
// incremental root, and inclusion- and consistency-proof verification.
// Pure functions over 32-byte hashes; it must never accept a proof of the wrong length.

import { sha256, bytesEqual, toHex } from './sha256.js';

const ZERO = new Uint8Array([0]);
const ONE = new Uint8Array([1]);

export const leafHash = (data) => sha256(ZERO, data);
export const nodeHash = (l, r) => sha256(ONE, l, r);

/** Incremental tree keeping the perfect subtrees of the right edge. */
export class CompactRange {
  constructor() { this.stack = []; }
  push(leaf) {
    let cur = [0, leaf];
    while (this.stack.length && this.stack[this.stack.length - 1][0] === cur[0]) {
      const [h, top] = this.stack.pop();
      cur = [h + 1, nodeHash(top, cur[1])];
    }
    this.stack.push(cur);
  }
  root() {
    if (!this.stack.length) return sha256();
    let r = this.stack[this.stack.length - 1][1];
    for (let i = this.stack.length - 2; i >= 0; i--) r = nodeHash(this.stack[i][1], r);
    return r;
  }
}

/** Verifies a consistency proof (sizes as BigInt); returns null or a reason. */
export function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
  if (oldSize === 0n || oldSize > newSize) return `cannot prove consistency from size ${oldSize} to size ${newSize}`;
  if (oldSize === newSize) {
    if (proof.length) return 'proof has the wrong number of hashes';
    return bytesEqual(oldRoot, newRoot) ? null : 'root mismatch';
  }
  const path = [];
  if ((oldSize & (oldSize - 1n)) === 0n) path.push(oldRoot);
  path.push(...proof);
  if (!path.length) return 'proof has the wrong number of hashes';
  let f = oldSize - 1n;
  let s = newSize - 1n;
  while (f & 1n) { f >>= 1n; s >>= 1n; }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (s === 0n) return 'proof has the wrong number of hashes';
    if ((f & 1n) || f === s) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!(f & 1n) && f !== 0n) { f >>= 1n; s >>= 1n; }
    } else {
      sr = nodeHash(sr, c);
    }
    f >>= 1n;
    s >>= 1n;
  }
  if (s !== 0n) return 'proof has the wrong number of hashes';
  if (!bytesEqual(fr, oldRoot) || !bytesEqual(sr, newRoot)) return 'root mismatch';
  return null;
}

/**
 * Verifies an inclusion proof (RFC 9162 section 2.1.3.2; index and size as BigInt);
 * returns null or the reason, worded as MerkleError in src/verify/merkle.rs.
 */
export function verifyInclusion(index, size, leaf, proof, expectedRoot) {
  if (index >= size) return `index ${index} is not inside a tree of size ${size}`;
  let f = index;
  let s = size - 1n;
  let r = leaf;
  for (const p of proof) {
    if (s === 0n) return 'proof has the wrong number of hashes';
    if ((f & 1n) || f === s) {
      r = nodeHash(p, r);
      while (!(f & 1n) && f !== 0n) { f >>= 1n; s >>= 1n; }
    } else {
      r = nodeHash(r, p);
    }
    f >>= 1n;
    s >>= 1n;
  }
  if (s !== 0n) return 'proof has the wrong number of hashes';
  if (!bytesEqual(r, expectedRoot)) return `root mismatch: expected ${toHex(expectedRoot)}, calculated ${toHex(r)}`;
  return null;
}
