// C2SP signed notes carrying tlog checkpoints (src/verify/note.rs): verifies the exact
// note bytes against the server's verifier key and parses `origin / size / root`.
// It must never re-serialize a note before checking its signature.

import { b64decode } from './keys.js';
import { bytesEqual } from './sha256.js';

const MAX_NOTE_BYTES = 64 * 1024;
const SIG_PREFIX = '\u2014 ';
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8 = new TextEncoder();

/** -> {body} or {malformed: reason} or {bad: reason}. */
export async function verifyNote(bytes, verifier) {
  return verifyNoteAny(bytes, [verifier]);
}

/** Against several keys (a key history): -> {body, index} | {malformed} | {bad}. */
export async function verifyNoteAny(bytes, verifiers) {
  if (bytes.length > MAX_NOTE_BYTES) return { malformed: 'note too large' };
  let text;
  try { text = strict.decode(bytes); } catch { return { malformed: 'not UTF-8' }; }
  const split = text.lastIndexOf('\n\n');
  if (split < 0) return { malformed: 'no blank line before signatures' };
  const body = text.slice(0, split + 1);
  const sigs = text.slice(split + 2);
  if (body.length < 2 || !sigs.endsWith('\n')) return { malformed: 'empty body or unterminated signature' };
  let found = false;
  const lines = sigs.slice(0, -1).split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) return { malformed: 'signature line without em dash' };
    const rest = line.slice(SIG_PREFIX.length);
    const sp = rest.indexOf(' ');
    if (sp < 0) return { malformed: 'signature line without name' };
    const name = rest.slice(0, sp);
    const blob = b64decode(rest.slice(sp + 1));
    if (!blob) return { malformed: 'signature not base64' };
    const i = blob.length < 4 ? -1 : verifiers.findIndex((v) => name === v.name && bytesEqual(blob.subarray(0, 4), v.keyId));
    if (i < 0) continue;
    if (blob.length !== 68) return { bad: 'signature does not verify' };
    if (!(await verifiers[i].key.verify(utf8.encode(body), blob.subarray(4)))) return { bad: 'signature does not verify' };
    if (found === false) found = i;
  }
  return found !== false ? { body, index: found } : { bad: 'no signature by the trusted key' };
}

/** Checkpoint body -> {origin, size (BigInt), root} or {error}. */
export function parseCheckpoint(body) {
  if (!body.endsWith('\n')) return { error: 'malformed checkpoint: no final newline' };
  const lines = body.slice(0, -1).split('\n');
  if (lines.length !== 3) return { error: 'malformed checkpoint: expected exactly three lines' };
  const [origin, size, root] = lines;
  if (!origin) return { error: 'malformed checkpoint: empty origin' };
  if (!/^(0|[1-9][0-9]*)$/.test(size)) return { error: 'malformed checkpoint: size is not a decimal number' };
  const n = BigInt(size);
  if (n >= 1n << 64n) return { error: 'malformed checkpoint: size out of range' };
  const r = b64decode(root);
  if (!r) return { error: 'malformed checkpoint: root not base64' };
  if (r.length !== 32) return { error: 'malformed checkpoint: root is not 32 bytes' };
  return { origin, size: n, root: r };
}
