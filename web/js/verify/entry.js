// Log entries (docs/bundle-format.md §2): the typed schema of every entry type, the
// wall-clock format, and the field rules (paths, digests, times) the Rust verifier
// applies in `src/verify/entry.rs` and `clock.rs`.
// Owns decoding only; it must never alter the bytes that are hashed.

import { parseCanonical } from './canonical.js';
import { keyAlg } from './keys.js';

// field -> kind: s string, u u64, i i64, b bool, a string list; '?' suffix = optional.
const TYPES = {
  hearing_opened: {
    case_ref: 's', mla_ref: 's?', requesting_state: 's?', requested_state: 's?', language: 's?', time_stamping: 's?',
    requesting_authority: 's?', requesting_reference: 's?', requested_authority: 's?', requested_reference: 's?', request_date: 's?',
  },
  participant_invited: { participant: 's', role: 's', display_name: 's?' },
  participant_joined: { participant: 's' },
  participant_admitted: { participant: 's' },
  participant_denied: { participant: 's' },
  participant_left: { participant: 's', reason: 's' },
  participant_removed: { participant: 's' },
  participant_renamed: { participant: 's', display_name: 's' },
  join_refused: { participant: 's', reason: 's' },
  device_approved: { participant: 's' },
  key_bound: { participant: 's', public_key: 's', alg: 's?' },
  media_chunk: {
    file: 's', offset: 'u', length: 'u', sha256: 's', media_start_ms: 'i', media_end_ms: 'i',
    wall_start: 's', wall_end: 's', participant: 's?', track: 's?',
  },
  file_sealed: { file: 's', length: 'u', sha256: 's' },
  gap: { participant: 's?', track: 's?', wall_start: 's', wall_end: 's', reason: 's' },
  mute: { participant: 's', muted: 'b', by_court: 'b' },
  identity_attested: { participant: 's', by: 's', method: 's' },
  oath_taken: { participant: 's', form: 's', language: 's?' },
  attestation: { kind: 's', participant: 's', statement_sha256: 's', signature: 's' },
  marker: { label: 's', by: 's?' },
  hearing_locked: { locked: 'b', by: 's' },
  recess: { started: 'b', reason: 's', by: 's' },
  delegation: { participant: 's', active: 'b', by: 's' },
  video_stopped: { participant: 's', stopped: 'b', by: 's' },
  consultation: { participants: 'a', started: 'b', asked_by: 's', by: 's' },
  exhibit: { number: 'u', participant: 's', stream: 's', started: 'b' },
  interpretation: { number: 'u', participant: 's', stream: 's', language: 's', started: 'b' },
  interpretation_on_air: { language: 's', stream: 's?' },
  audio_only_fallback: { participant: 's', active: 'b' },
  connection_quality: { participant: 's', level: 's', rtt_ms: 'u?', loss_in_permille: 'u?', loss_out_permille: 'u?', kbps_in: 'u', kbps_out: 'u', layers_sent: 'u?', height_sent: 'u?', reduced: 'u?' },
  rights_explained: { language: 's', text: 's', by: 's' },
  privilege_claimed: { number: 'u', by: 's', ground: 's' },
  objection_raised: { number: 'u', by: 's', ground: 's' },
  ruling: { number: 'u', upheld: 'b', reason: 's', by: 's' },
  device_check: { participant: 's', camera: 's', microphone: 's', speaker: 's', rtt_ms: 'u?', bitrate_kbps: 'u?' },
  recording_degraded: { participant: 's?', detail: 's' },
  recovered_after_interruption: { from_seq: 'u', to_seq: 'u', torn_bytes: 'u' },
  server_stopped: { reason: 's', unsealed: 'u' },
  node_lost: { node: 's', resumed_on: 's', restored_size: 'u' },
  hearing_closed: { reason: 's' },
  derived_file: { file: 's', length: 'u', sha256: 's', derived_from: 'a', method: 's' },
  retrieval: { user: 's', retrieved_hearing: 's', what: 's', result: 's' },
};

const MAX_U64 = (1n << 64n) - 1n;
const I64 = 1n << 63n;

function typed(kind, v) {
  switch (kind) {
    case 's': return typeof v === 'string';
    case 'b': return typeof v === 'boolean';
    case 'u': return typeof v === 'bigint' && v >= 0n && v <= MAX_U64;
    case 'i': return typeof v === 'bigint' && v >= -I64 && v < I64;
    case 'a': return Array.isArray(v) && v.every((x) => typeof x === 'string');
    default: return false;
  }
}

/** Result of decoding: {entry} or {error: 'not_canonical'|'malformed', reason}. */
export function decodeEntry(bytes) {
  let m;
  try {
    m = parseCanonical(bytes);
  } catch (e) {
    return { error: 'not_canonical', reason: String(e.message) };
  }
  if (!(m instanceof Map)) return { error: 'malformed', reason: 'entry is not an object' };
  const type = m.get('type');
  const spec = typeof type === 'string' ? TYPES[type] : undefined;
  if (!spec) return { error: 'malformed', reason: `unknown variant ${JSON.stringify(String(type))}` };
  const common = { v: 'u', hearing: 's', seq: 'u', time: 's' };
  const out = { type };
  for (const [k, kind] of Object.entries({ ...common, ...spec })) {
    const optional = kind.endsWith('?');
    const base = optional ? kind.slice(0, -1) : kind;
    if (!m.has(k)) {
      if (optional) continue;
      return { error: 'malformed', reason: `missing field \`${k}\`` };
    }
    const v = m.get(k);
    if (!typed(base, v) || (k === 'v' && v > 0xffffffffn)) {
      // A null optional re-encodes differently: serde reports it as unknown fields.
      if (optional && v === null) return { error: 'malformed', reason: 'entry has fields its type does not define' };
      return { error: 'malformed', reason: `invalid type for field \`${k}\`` };
    }
    out[k] = v;
  }
  for (const k of m.keys()) {
    if (k !== 'type' && !(k in common) && !(k in spec)) {
      return { error: 'malformed', reason: 'entry has fields its type does not define' };
    }
  }
  return { entry: out };
}

function daysInMonth(y, m) {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

function daysFromCivil(y, m, d) {
  y = m <= 2 ? y - 1 : y;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** `2026-11-29T17:30:00.123Z` -> Unix ms, or null. */
export function parseMs(text) {
  if (typeof text !== 'string') return null;
  const r = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$/.exec(text);
  if (!r) return null;
  const [y, mo, d, h, mi, s, ms] = r.slice(1).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return null;
  return ((daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000) + ms;
}

/** Same rule as `is_safe_relative_path`. */
export function isSafeRelativePath(p) {
  return typeof p === 'string' && p.length > 0 && new TextEncoder().encode(p).length <= 512 &&
    !p.includes('\\') && !p.includes('\0') &&
    p.split('/').every((c) => c !== '' && c !== '.' && c !== '..');
}

/** Same set as `DEVICE_CHECK_RESULTS`. */
const DEVICE_CHECK_RESULTS = ['ok', 'failed', 'not_tested'];
/** The classes a `connection_quality` entry may give (src/verify/entry_rules.rs QUALITY_LEVELS). */
const QUALITY_LEVELS = ['good', 'fair', 'poor', 'unknown'];

/** Same rule as `is_calendar_date`: `YYYY-MM-DD` naming a real day. */
export function isCalendarDate(d) {
  const r = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d);
  if (!r) return false;
  const [y, m, day] = r.slice(1).map(Number);
  return m >= 1 && m <= 12 && day >= 1 && day <= daysInMonth(y, m);
}

/** Field rules beyond types; returns null or a reason. */
export function checkFields(e) {
  const wall = (w) => (parseMs(w) === null ? `bad wall-clock time ${JSON.stringify(w)}` : null);
  const digest = (d) => (/^[0-9a-f]{64}$/.test(d) ? null : 'sha256 is not 64 lower-case hex digits');
  const path = (f) => (isSafeRelativePath(f) ? null : `unsafe file path ${JSON.stringify(f)}`);
  switch (e.type) {
    case 'media_chunk':
      return path(e.file) ?? digest(e.sha256) ?? wall(e.wall_start) ?? wall(e.wall_end) ??
        (e.media_end_ms < e.media_start_ms ? 'media time range runs backwards' : null);
    case 'file_sealed':
      return path(e.file) ?? digest(e.sha256);
    case 'derived_file':
      return path(e.file) ?? digest(e.sha256) ?? e.derived_from.map(path).find((x) => x) ?? null;
    case 'gap':
      return wall(e.wall_start) ?? wall(e.wall_end);
    case 'attestation':
      return digest(e.statement_sha256);
    case 'key_bound':
      try { keyAlg(e.alg); return null; } catch (x) { return `key_bound: ${x.message}`; }
    case 'hearing_opened':
      return e.request_date === undefined || isCalendarDate(e.request_date) ? null : `bad request date ${JSON.stringify(e.request_date)}`;
    case 'connection_quality':
      return QUALITY_LEVELS.includes(e.level) ? null : `connection_quality: unknown level ${JSON.stringify(e.level)}`;
    case 'device_check': {
      const bad = [e.camera, e.microphone, e.speaker].find((r) => !DEVICE_CHECK_RESULTS.includes(r));
      return bad === undefined ? null : `device_check: unknown result ${JSON.stringify(bad)}`;
    }
    default:
      return null;
  }
}
