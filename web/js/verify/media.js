// Media and derived files (src/verify/bundle/media.rs): media_chunk ranges must tile each
// file exactly, each chunk hashes as logged (WebCrypto per chunk, read lazily by range),
// one file_sealed matches the whole file; derived_file entries match derived/ files.
// It must never accept a media or derived byte that no signed entry commits.

import { isSafeRelativePath } from './entry.js';
import { toHex } from './sha256.js';
import { err } from './errors.js';

const MAX_WEBCRYPTO_CHUNK = 256 << 20;

async function chunkHex(ctx, path, start, end) {
  const bytes = await ctx.src.readRange(path, start, end);
  if (bytes.length > MAX_WEBCRYPTO_CHUNK) throw new Error('chunk too large to hash in one piece');
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

export async function checkMedia(ctx, log) {
  const errs = [];
  const chunks = new Map();
  const seals = new Map();
  for (const [seq, e] of log.iter()) {
    if (e.type === 'media_chunk') {
      if (!chunks.has(e.file)) chunks.set(e.file, []);
      chunks.get(e.file).push({ seq, offset: e.offset, length: e.length, sha256: e.sha256 });
    } else if (e.type === 'file_sealed') {
      if (!seals.has(e.file)) seals.set(e.file, []);
      seals.get(e.file).push({ seq, length: e.length, sha256: e.sha256 });
    }
  }
  const files = [...chunks.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const totalBytes = files.reduce((n, f) => n + (ctx.src.size(`media/${f}`) || 0), 0);
  let doneBytes = 0;
  let total = 0n;
  for (const file of files) {
    const list = chunks.get(file);
    const path = `media/${file}`;
    if (!isSafeRelativePath(file)) {
      errs.push(err('EntryMalformed', { line: list[0]?.seq ?? 0n, reason: `unsafe media path ${JSON.stringify(file)}` }));
      continue;
    }
    if (!ctx.has(path)) { errs.push(err('MissingFile', { path })); continue; }
    const len = BigInt(ctx.src.size(path));
    let pos = 0n;
    for (const c of list) {
      if (c.offset > pos) errs.push(err('ChunkGap', { file, seq: c.seq, expected: pos, found: c.offset }));
      else if (c.offset < pos) errs.push(err('ChunkOverlap', { file, seq: c.seq, expected: pos, found: c.offset }));
      let end = c.offset + c.length;
      if (end >= 1n << 64n) end = (1n << 64n) - 1n;
      if (end > len) {
        errs.push(err('ChunkPastEnd', { file, seq: c.seq, end, file_length: len }));
      } else {
        // Zero-length chunks are allowed (a crash-recovery tail); they hash as empty.
        let hex = null;
        try {
          hex = await chunkHex(ctx, path, Number(c.offset), Number(end));
        } catch (e) {
          errs.push(err('ReadFailed', { path, reason: String(e.message || e) }));
        }
        if (hex !== null && hex !== c.sha256) errs.push(err('ChunkHashMismatch', { file, seq: c.seq }));
        ctx.onProgress({ phase: 'media', file: path, done: doneBytes + Number(end), total: totalBytes });
      }
      if (end > pos) pos = end;
    }
    doneBytes += Number(len);
    if (pos < len) errs.push(err('MediaTrailingBytes', { file, committed: pos, length: len }));
    const lastChunk = list.length ? list[list.length - 1].seq : 0n;
    const s = seals.get(file);
    const whole = ctx.digests.get(path);
    if (s && s.length === 1) {
      const seal = s[0];
      if (seal.seq < lastChunk) {
        errs.push(err('FileNotSealed', { file, reason: `chunk at seq ${lastChunk} after the seal` }));
      } else if (seal.length !== len || !whole || seal.sha256 !== whole.sha256) {
        errs.push(err('FileNotSealed', { file, reason: 'file_sealed length or sha256 differs from the file' }));
      }
    } else if (s) {
      errs.push(err('FileNotSealed', { file, reason: 'sealed more than once' }));
    } else {
      errs.push(err('FileNotSealed', { file, reason: 'no file_sealed entry' }));
    }
    total += len;
  }
  for (const [file, list] of [...seals.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (!chunks.has(file)) {
      errs.push(err('FileNotSealed', { file, reason: `sealed at seq ${list[0]?.seq ?? 0n} without any chunk` }));
    }
  }
  for (const p of ctx.paths) {
    if (p.startsWith('media/') && !chunks.has(p.slice(6))) errs.push(err('UncommittedFile', { path: p }));
  }
  ctx.record('media', errs, `${chunks.size} media files (${total} bytes) exactly tiled by committed chunks and sealed`);
}

export function checkDerived(ctx, log) {
  const errs = [];
  const committed = new Map();
  for (const [, e] of log.iter()) {
    if (e.type === 'derived_file') committed.set(`derived/${e.file}`, { length: e.length, sha256: e.sha256 });
  }
  for (const path of [...committed.keys()].sort()) {
    const c = committed.get(path);
    if (!ctx.has(path)) { errs.push(err('MissingFile', { path })); continue; }
    const d = ctx.digests.get(path);
    if (!d || d.sha256 !== c.sha256 || d.length !== c.length) errs.push(err('DerivedFileMismatch', { path }));
  }
  for (const p of ctx.paths.filter((q) => q.startsWith('derived/'))) {
    if (!committed.has(p)) errs.push(err('UncommittedFile', { path: p }));
  }
  if (!committed.size && !errs.length) ctx.skip('derived', 'no derived files');
  else ctx.record('derived', errs, `${committed.size} derived files match their entries`);
}
