// `log/entries.jsonl` (src/verify/bundle/log.rs): every line a canonical entry of this log
// with seq = line index, times in order, opened first and closed last; the root at every
// size.
// It must never hash anything but the exact stored line bytes.

import { decodeEntry, checkFields, parseMs } from './entry.js';
import { CompactRange, leafHash } from './merkle.js';
import { err } from './errors.js';

/** Same words as BUILTIN_TSA_NOTE in src/verify/bundle/log.rs. */
const BUILTIN_TSA_NOTE = "time-stamps come from the server's built-in TSA, whose key is kept by the same operator as the log: they order the checkpoints but do not prove their time against the operator";

export function describeInterruption(i) {
  return i.from_seq < i.to_seq
    ? `entries ${i.from_seq}..=${i.to_seq - 1n} were written before a restart and committed after it (entry ${i.seq})`
    : `the server restarted without a final checkpoint; no complete entry was pending (entry ${i.seq})`;
}

/** One line describing a lost node (`node_lost`), as the Rust verifier words it. */
export function describeNodeLost(n) {
  return `node ${n.node} stopped answering; the hearing resumed on node ${n.resumed_on} from the ${n.restored_size} entries kept in object storage (entry ${n.seq}): what ${n.node} recorded after its last stored checkpoint is not in this record`;
}

/**
 * `spec`: {base: 'log/', name: 'log', logId, origin}.
 * Parses `<base>entries.jsonl` and records `<name>.entries`.
 */
export async function checkEntries(ctx, spec) {
  const errs = [];
  const view = { entries: [], roots: [], interruptions: [], nodes_lost: [] };
  view.rootAt = (size) => (size >= 1n && size <= BigInt(view.roots.length) ? view.roots[Number(size) - 1] : null);
  view.iter = function* iter() {
    for (let i = 0; i < view.entries.length; i++) if (view.entries[i]) yield [BigInt(i), view.entries[i]];
  };
  const check = `${spec.name}.entries`;
  const bytes = await ctx.read(`${spec.base}entries.jsonl`, errs);
  if (!bytes) { ctx.record(check, errs, ''); return view; }
  if (!bytes.length) errs.push(err('LogMalformed', { reason: 'no entries' }));
  else if (bytes[bytes.length - 1] !== 10) errs.push(err('LogMalformed', { reason: 'last line has no newline (torn write?)' }));
  const body = bytes.length && bytes[bytes.length - 1] === 10 ? bytes.subarray(0, bytes.length - 1) : bytes;
  const range = new CompactRange();
  let lastMs = -Infinity;
  if (body.length) {
    let start = 0;
    let lineNo = 0n;
    for (let i = 0; i <= body.length; i++) {
      if (i < body.length && body[i] !== 10) continue;
      const line = body.subarray(start, i);
      start = i + 1;
      range.push(leafHash(line));
      view.roots.push(range.root());
      const d = decodeEntry(line);
      let e = null;
      if (d.error === 'not_canonical') errs.push(err('EntryNotCanonical', { line: lineNo }));
      else if (d.error) errs.push(err('EntryMalformed', { line: lineNo, reason: `entry does not match its type: ${d.reason}` }));
      else e = d.entry;
      if (e) {
        const bad = checkFields(e);
        if (bad) errs.push(err('EntryMalformed', { line: lineNo, reason: bad }));
        if (e.seq !== lineNo) errs.push(err('SeqOutOfOrder', { line: lineNo, expected: lineNo, found: e.seq }));
        if (e.v !== 1n) errs.push(err('EntryMalformed', { line: lineNo, reason: `version ${e.v}` }));
        if (e.hearing !== spec.logId) errs.push(err('EntryWrongHearing', { seq: lineNo, found: e.hearing }));
        const ms = parseMs(e.time);
        if (ms !== null && ms >= lastMs) lastMs = ms;
        else errs.push(err('TimeOutOfOrder', { seq: lineNo, time: e.time }));
      }
      view.entries.push(e);
      lineNo++;
    }
  }
  ctx.record(check, errs, `${view.entries.length} entries, canonical, in order`);
  return view;
}

export async function checkLog(ctx, man, spec) {
  const view = await checkEntries(ctx, spec);
  const n = BigInt(view.entries.length);
  const errs = [];
  if (n !== man.log_size) errs.push(err('LogSizeMismatch', { manifest: man.log_size, actual: n }));
  const first = view.entries[0];
  if (!first || first.type !== 'hearing_opened') errs.push(err('LogNotOpened'));
  const last = view.entries[view.entries.length - 1];
  if (last && last.type !== 'hearing_closed') errs.push(err('LogNotClosed', { last_type: last.type }));
  else if (!last) errs.push(err('LogNotClosed', { last_type: 'nothing' }));
  let closed = false;
  for (const [seq, e] of view.iter()) {
    if (e.type === 'hearing_closed') closed = true;
    else if (e.type !== 'recovered_after_interruption' && closed) errs.push(err('EntryAfterClose', { seq }));
    if (e.type === 'node_lost') {
      view.nodes_lost.push({ seq, node: e.node, resumed_on: e.resumed_on, restored_size: e.restored_size });
    }
    if (e.type === 'recovered_after_interruption') {
      view.interruptions.push({ seq, from_seq: e.from_seq, to_seq: e.to_seq });
    }
  }
  ctx.record('log.structure', errs, 'opens with hearing_opened, ends with hearing_closed');
  const opened = view.entries[0];
  if (opened && opened.type === 'hearing_opened' && opened.time_stamping === 'builtin') {
    ctx.record('log.time_stamping', [], BUILTIN_TSA_NOTE);
  }
  if (view.interruptions.length) {
    ctx.record('log.interruptions', [], `recording was interrupted: ${view.interruptions.map(describeInterruption).join(', ')}`);
  }
  if (view.nodes_lost.length) {
    ctx.record('log.nodes_lost', [], view.nodes_lost.map(describeNodeLost).join('; '));
  }
  return view;
}
