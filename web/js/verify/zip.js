// A small zip reader over a browser File/Blob: central directory (with Zip64), stored
// entries only, read lazily by byte range. Like `sworn-verify`, it does not check CRC-32
// (every byte is checked against SHA-256 digests instead).
// Owns zip parsing (the same rules as src/verify/zip_index.rs, docs/bundle-format.md §10);
// it must never load a whole archive into memory, accept an entry name that leaves the
// bundle or is used twice, accept entries that overlap, or hand out bytes of a compressed
// entry (bundles are stored; `sworn-verify` refuses compressed entries too).

import { isSafeRelativePath } from './entry.js';

export class ZipOpenError extends Error {}

const MAX_FILES = 100000;
const MAX_DIRECTORY_BYTES = 64 * 1048576;

async function slice(blob, start, end) {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

const u16 = (b, o) => b[o] | (b[o + 1] << 8);
const u32 = (b, o) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const u64 = (b, o) => u32(b, o) + u32(b, o + 4) * 0x100000000;

/** Opens a zip; throws ZipOpenError for anything `sworn-verify` refuses to open. */
export async function openZip(blob) {
  const size = blob.size;
  const tailLen = Math.min(size, 22 + 65535 + 20);
  const tail = await slice(blob, size - tailLen, size);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (u32(tail, i) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new ZipOpenError('zip: not a zip archive (no end of central directory)');
  let count = u16(tail, eocd + 10);
  let cdSize = u32(tail, eocd + 12);
  let cdOff = u32(tail, eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOff === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || u32(tail, loc) !== 0x07064b50) throw new ZipOpenError('zip: Zip64 locator missing');
    const e64off = u64(tail, loc + 8);
    const e64 = await slice(blob, e64off, e64off + 56);
    if (u32(e64, 0) !== 0x06064b50) throw new ZipOpenError('zip: Zip64 end record missing');
    count = u64(e64, 32);
    cdSize = u64(e64, 40);
    cdOff = u64(e64, 48);
  }
  if (count > MAX_FILES) throw new ZipOpenError('bundle has too many files');
  if (cdOff + cdSize > size || cdSize > MAX_DIRECTORY_BYTES) throw new ZipOpenError('zip: central directory outside the file or too large');
  const cd = await slice(blob, cdOff, cdOff + cdSize);
  const entries = new Map();
  const dec = new TextDecoder('utf-8', { fatal: true });
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.length || u32(cd, p) !== 0x02014b50) throw new ZipOpenError('zip: bad central directory');
    const method = u16(cd, p + 10);
    let csize = u32(cd, p + 20);
    let usize = u32(cd, p + 24);
    const nameLen = u16(cd, p + 28);
    const extraLen = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    let local = u32(cd, p + 42);
    let name;
    try {
      name = dec.decode(cd.subarray(p + 46, p + 46 + nameLen));
    } catch {
      throw new ZipOpenError('zip: entry name is not UTF-8');
    }
    let x = p + 46 + nameLen;
    const xend = x + extraLen;
    if (xend + commentLen > cd.length) throw new ZipOpenError('zip: bad central directory');
    while (x + 4 <= xend) {
      const id = u16(cd, x);
      const len = u16(cd, x + 2);
      if (x + 4 + len > xend) throw new ZipOpenError('zip: bad central directory');
      if (id === 1) {
        let q = x + 4;
        const next = () => {
          if (q + 8 > x + 4 + len) throw new ZipOpenError('zip: bad central directory');
          q += 8;
          return u64(cd, q - 8);
        };
        if (usize === 0xffffffff) usize = next();
        if (csize === 0xffffffff) csize = next();
        if (local === 0xffffffff) local = next();
      }
      x += 4 + len;
    }
    p = xend + commentLen;
    if (name.endsWith('/')) continue;
    if (!isSafeRelativePath(name)) throw new ZipOpenError(`zip: unsafe entry name ${JSON.stringify(name)}`);
    if (entries.has(name)) throw new ZipOpenError(`zip: duplicate entry ${JSON.stringify(name)}`);
    if (method !== 0 || csize !== usize) {
      throw new ZipOpenError(`zip: entry ${JSON.stringify(name)} is compressed (bundles use stored entries)`);
    }
    entries.set(name, { name, usize, local, dataStart: null });
  }
  const spans = [];
  for (const e of entries.values()) {
    const bad = () => new ZipOpenError(`zip: bad local header for ${JSON.stringify(e.name)}`);
    if (e.local + 30 > cdOff) throw bad();
    const h = await slice(blob, e.local, e.local + 30);
    if (h.length < 30 || u32(h, 0) !== 0x04034b50) throw bad();
    e.dataStart = e.local + 30 + u16(h, 26) + u16(h, 28);
    spans.push({ start: e.local, end: e.dataStart + e.usize, name: e.name });
  }
  checkDisjoint(spans, cdOff);
  return new ZipSource(blob, entries);
}

/**
 * Refuses entries whose bytes (local header to end of data) overlap, or run into the
 * central directory: the "zip bomb by overlap", as src/verify/zip_index.rs refuses it.
 */
function checkDisjoint(spans, limit) {
  spans.sort((a, b) => a.start - b.start || a.end - b.end);
  let prev = null;
  for (const s of spans) {
    if (s.end > limit) throw new ZipOpenError(`zip: entries ${JSON.stringify(s.name)} and "(central directory)" overlap`);
    if (prev && s.start < prev.end) throw new ZipOpenError(`zip: entries ${JSON.stringify(prev.name)} and ${JSON.stringify(s.name)} overlap`);
    prev = s;
  }
}

/** Bundle files inside a zip. Paths are `/`-separated, relative to the bundle root. */
export class ZipSource {
  constructor(blob, entries) {
    this.blob = blob;
    this.entries = entries;
  }

  paths() { return [...this.entries.keys()]; }

  /** Uncompressed size, or null when the entry is absent. */
  size(path) {
    const e = this.entries.get(path);
    return e ? e.usize : null;
  }

  entry(path) {
    const e = this.entries.get(path);
    if (!e) throw new Error('not in bundle');
    return e;
  }

  /** Bytes [start, end) of a file. */
  async readRange(path, start, end) {
    const e = this.entry(path);
    const b = await slice(this.blob, e.dataStart + start, e.dataStart + end);
    if (b.length !== end - start) throw new Error('range past the end of the file');
    return b;
  }

  /** Streams a whole file in pieces of `piece` bytes. */
  async stream(path, onPiece, piece = 4 << 20) {
    const e = this.entry(path);
    for (let off = 0; off < e.usize; off += piece) {
      const b = await this.readRange(path, off, Math.min(e.usize, off + piece));
      await onPiece(b, off + b.length, e.usize);
    }
  }

  /** A whole (small) file. */
  async read(path) {
    const e = this.entry(path);
    const parts = [];
    await this.stream(path, (b) => { parts.push(b); });
    const out = new Uint8Array(e.usize);
    let o = 0;
    for (const b of parts) { out.set(b, o); o += b.length; }
    return out;
  }
}
