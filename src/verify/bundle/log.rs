//! `log/entries.jsonl`: every line a canonical entry of this log with seq = line index,
//! times in order, opened first and closed last. Computes the root at every size.
//!
//! It must never hash anything but the exact stored line bytes.

use super::Ctx;
use super::manifest::Manifest;
use crate::verify::clock;
use crate::verify::entry::{self, Entry, EntryBody, EntryError};
use crate::verify::error::VerifyError;
use crate::verify::merkle::{CompactRange, Hash, leaf_hash};
use crate::verify::report::{Interruption, NodeLost};

/// The parsed log.
pub(crate) struct LogView {
    /// Entries that parsed, by line (None for a line that did not).
    pub entries: Vec<Option<Entry>>,
    /// roots[n - 1] = root of the first n entries.
    pub roots: Vec<Hash>,
    /// Recorded interruptions.
    pub interruptions: Vec<Interruption>,
    /// Nodes lost during the hearing.
    pub nodes_lost: Vec<NodeLost>,
}

impl LogView {
    /// Root at `size` (size >= 1 and <= log size).
    pub fn root_at(&self, size: u64) -> Option<&Hash> {
        usize::try_from(size)
            .ok()?
            .checked_sub(1)
            .and_then(|i| self.roots.get(i))
    }

    /// Parsed entries with their seq.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Entry)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (i as u64, e)))
    }
}

/// Which log of the bundle is checked: the hearing log under `log/` or the custody log
/// under `custody/`.
pub(crate) struct LogSpec<'a> {
    /// Directory prefix with trailing slash.
    pub base: &'a str,
    /// Check-name prefix (`log`, `custody`).
    pub name: &'a str,
    /// Expected `hearing` field of every entry.
    pub log_id: &'a str,
    /// Expected checkpoint origin.
    pub origin: String,
}

/// Parses `<base>entries.jsonl`: canonical lines, seq = position, this log's id, times in
/// order, field rules; computes the root at every size.
/// What a report says of a hearing time-stamped by the server's built-in TSA (the same
/// words in the browser verifier, `web/js/verify/log.js`).
pub const BUILTIN_TSA_NOTE: &str = "time-stamps come from the server's built-in TSA, whose key is kept by the same operator as the log: they order the checkpoints but do not prove their time against the operator";

pub(crate) fn check_entries(ctx: &mut Ctx<'_>, spec: &LogSpec<'_>) -> LogView {
    let mut errs = Vec::new();
    let mut view = LogView {
        entries: Vec::new(),
        roots: Vec::new(),
        interruptions: Vec::new(),
        nodes_lost: Vec::new(),
    };
    let check = format!("{}.entries", spec.name);
    let Some(bytes) = ctx.read(&format!("{}entries.jsonl", spec.base), &mut errs) else {
        ctx.record(&check, errs, String::new());
        return view;
    };
    if bytes.is_empty() {
        errs.push(VerifyError::LogMalformed {
            reason: "no entries".into(),
        });
    } else if !bytes.ends_with(b"\n") {
        errs.push(VerifyError::LogMalformed {
            reason: "last line has no newline (torn write?)".into(),
        });
    }
    let mut range = CompactRange::new();
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    let mut last_ms = i64::MIN;
    if !body.is_empty() {
        for (i, line) in body.split(|b| *b == b'\n').enumerate() {
            let line_no = i as u64;
            range.push(leaf_hash(line));
            view.roots.push(range.root());
            let parsed = match entry::decode(line) {
                Ok(e) => Some(e),
                Err(EntryError::NotCanonical(_)) => {
                    errs.push(VerifyError::EntryNotCanonical { line: line_no });
                    None
                }
                Err(e) => {
                    errs.push(VerifyError::EntryMalformed {
                        line: line_no,
                        reason: e.to_string(),
                    });
                    None
                }
            };
            if let Some(e) = &parsed {
                if let Err(reason) = entry::check_fields(&e.body) {
                    errs.push(VerifyError::EntryMalformed {
                        line: line_no,
                        reason,
                    });
                }
                if e.seq != line_no {
                    errs.push(VerifyError::SeqOutOfOrder {
                        line: line_no,
                        expected: line_no,
                        found: e.seq,
                    });
                }
                if e.v != entry::ENTRY_VERSION {
                    errs.push(VerifyError::EntryMalformed {
                        line: line_no,
                        reason: format!("version {}", e.v),
                    });
                }
                if e.hearing != spec.log_id {
                    errs.push(VerifyError::EntryWrongHearing {
                        seq: line_no,
                        found: e.hearing.clone(),
                    });
                }
                match clock::parse_ms(&e.time) {
                    Some(ms) if ms >= last_ms => last_ms = ms,
                    _ => errs.push(VerifyError::TimeOutOfOrder {
                        seq: line_no,
                        time: e.time.clone(),
                    }),
                }
            }
            view.entries.push(parsed);
        }
    }
    let n = view.entries.len() as u64;
    ctx.record(&check, errs, format!("{n} entries, canonical, in order"));
    view
}

pub(crate) fn check_log(ctx: &mut Ctx<'_>, man: &Manifest, spec: &LogSpec<'_>) -> LogView {
    let mut view = check_entries(ctx, spec);
    let n = view.entries.len() as u64;

    // Structure: opened first, closed last, nothing after close, size as manifest says.
    let mut errs = Vec::new();
    if n != man.log_size {
        errs.push(VerifyError::LogSizeMismatch {
            manifest: man.log_size,
            actual: n,
        });
    }
    match view.entries.first() {
        Some(Some(Entry {
            body: EntryBody::HearingOpened { .. },
            ..
        })) => {}
        _ => errs.push(VerifyError::LogNotOpened),
    }
    match view.entries.last() {
        Some(Some(Entry {
            body: EntryBody::HearingClosed { .. },
            ..
        })) => {}
        Some(Some(e)) => errs.push(VerifyError::LogNotClosed {
            last_type: e.body.type_name().into(),
        }),
        _ => errs.push(VerifyError::LogNotClosed {
            last_type: "nothing".into(),
        }),
    }
    let mut interruptions = Vec::new();
    let mut nodes_lost = Vec::new();
    let mut closed = false;
    for (seq, e) in view.iter() {
        // After hearing_closed only a crash recovery (and the re-close) may follow.
        match e.body {
            EntryBody::HearingClosed { .. } => closed = true,
            EntryBody::RecoveredAfterInterruption { .. } => {}
            _ if closed => errs.push(VerifyError::EntryAfterClose { seq }),
            _ => {}
        }
        if let EntryBody::NodeLost {
            node,
            resumed_on,
            restored_size,
        } = &e.body
        {
            nodes_lost.push(NodeLost {
                seq,
                node: node.clone(),
                resumed_on: resumed_on.clone(),
                restored_size: *restored_size,
            });
        }
        if let EntryBody::RecoveredAfterInterruption {
            from_seq, to_seq, ..
        } = e.body
        {
            interruptions.push(Interruption {
                seq,
                from_seq,
                to_seq,
            });
        }
    }
    view.interruptions = interruptions;
    view.nodes_lost = nodes_lost;
    let builtin_tsa = matches!(
        view.entries.first(),
        Some(Some(Entry {
            body: EntryBody::HearingOpened { time_stamping: Some(t), .. },
            ..
        })) if t == "builtin"
    );
    ctx.record(
        "log.structure",
        errs,
        "opens with hearing_opened, ends with hearing_closed".into(),
    );
    if builtin_tsa {
        ctx.record("log.time_stamping", Vec::new(), BUILTIN_TSA_NOTE.into());
    }
    if !view.interruptions.is_empty() {
        let spans: Vec<String> = view
            .interruptions
            .iter()
            .map(super::super::report::describe_interruption)
            .collect();
        ctx.record(
            "log.interruptions",
            Vec::new(),
            format!("recording was interrupted: {}", spans.join(", ")),
        );
    }
    if !view.nodes_lost.is_empty() {
        let lines: Vec<String> = view
            .nodes_lost
            .iter()
            .map(super::super::report::describe_node_lost)
            .collect();
        ctx.record("log.nodes_lost", Vec::new(), lines.join("; "));
    }
    view
}
