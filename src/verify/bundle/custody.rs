//! The custody extract of an exported bundle (`custody/`): the custody-log entries about
//! this hearing, each with an RFC 9162 inclusion proof to one custody checkpoint signed
//! by the bundle's server key (origin `<server>/custody`), and optionally that
//! checkpoint's RFC 3161 token. Files under `custody/` are not in the manifest: they are
//! authenticated by the server key through the checkpoint signature alone.
//!
//! It must never accept a file under `custody/` that is not one of the extract's shapes,
//! and never hash anything but the exact stored entry bytes.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::signers::Signers;
use super::{CUSTODY_LOG_ID, Ctx, TimestampFailure, TimestampVerifier};
use crate::verify::canonical;
use crate::verify::entry::{self, EntryBody};
use crate::verify::error::VerifyError;
use crate::verify::key_history::Pin;
use crate::verify::keys::NoteVerifier;
use crate::verify::merkle::{self, Hash};
use crate::verify::note::{self, Checkpoint};

/// Directory of the extract.
pub const CUSTODY_DIR: &str = "custody/";
/// The custody checkpoint.
pub const CHECKPOINT_NOTE: &str = "custody/checkpoint.note";
/// Its optional RFC 3161 token.
pub const CHECKPOINT_TSR: &str = "custody/checkpoint.tsr";
/// Largest file accepted under `custody/`.
const MAX_FILE: u64 = 1 << 20;

/// Path of the entry file for custody entry `seq`.
pub fn entry_path(seq: u64) -> String {
    format!("custody/entries/{seq:06}.json")
}

/// Path of the inclusion-proof file for custody entry `seq`.
pub fn proof_path(seq: u64) -> String {
    format!("custody/proofs/{seq:06}.inclusion.json")
}

/// `custody/proofs/NNNNNN.inclusion.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionFile {
    /// The entry's seq.
    pub leaf_index: u64,
    /// Audit path, standard base64 hashes.
    pub proof: Vec<String>,
    /// Root of the checkpoint, standard base64.
    pub root: String,
    /// Size of the checkpoint.
    pub tree_size: u64,
}

/// One custody fact the report shows: who had the bundle and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustodyRecord {
    /// Custody-log seq.
    pub seq: u64,
    /// Server time of the entry.
    pub time: String,
    /// User id.
    pub user: String,
    /// What was served.
    pub what: String,
    /// Outcome.
    pub result: String,
}

/// Which extract file a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Note,
    Tsr,
    History,
    Entry(u64),
    Proof(u64),
}

/// Parses `NNNNNN` (at least six digits, no extra leading zeros) in `prefix NNNNNN suffix`.
fn numbered(path: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let digits = path.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.len() < 6 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    (format!("{n:06}") == digits).then_some(n)
}

fn shape(path: &str) -> Option<Shape> {
    match path {
        CHECKPOINT_NOTE => Some(Shape::Note),
        CHECKPOINT_TSR => Some(Shape::Tsr),
        super::signers::CUSTODY_HISTORY_PATH => Some(Shape::History),
        _ => numbered(path, "custody/entries/", ".json")
            .map(Shape::Entry)
            .or_else(|| numbered(path, "custody/proofs/", ".inclusion.json").map(Shape::Proof)),
    }
}

/// Checks the custody extract; returns the entries it lists (those that parsed).
pub(crate) fn check_custody(
    ctx: &mut Ctx<'_>,
    hearing: &str,
    signers: Option<&Signers>,
    pin: Option<&Pin>,
    checker: Option<&dyn TimestampVerifier>,
    pinned_chain: Option<&[u8]>,
) -> Vec<CustodyRecord> {
    let paths: Vec<String> = ctx
        .paths
        .iter()
        .filter(|p| p.starts_with(CUSTODY_DIR))
        .cloned()
        .collect();
    if paths.is_empty() {
        ctx.record(
            "custody",
            Vec::new(),
            "not present (no custody extract in this bundle)".into(),
        );
        return Vec::new();
    }
    let mut errs = Vec::new();
    let unexpected = |path: &str, reason: &str| VerifyError::CustodyFileUnexpected {
        path: path.into(),
        reason: reason.into(),
    };
    // Shapes, pairing, sizes.
    let mut entries = BTreeMap::new();
    let mut proofs = BTreeMap::new();
    let (mut has_note, mut has_tsr) = (false, false);
    for p in &paths {
        let Some(s) = shape(p) else {
            errs.push(unexpected(p, "not a custody extract file"));
            continue;
        };
        match ctx.file_len(p, &mut errs) {
            Some(n) if n > MAX_FILE => {
                errs.push(unexpected(p, "too large"));
                continue;
            }
            Some(_) => {}
            None => continue,
        }
        match s {
            Shape::Note => has_note = true,
            Shape::Tsr => has_tsr = true,
            Shape::History => {}
            Shape::Entry(seq) => {
                entries.insert(seq, p.clone());
            }
            Shape::Proof(seq) => {
                proofs.insert(seq, p.clone());
            }
        }
    }
    for (seq, p) in &entries {
        if !proofs.contains_key(seq) {
            errs.push(unexpected(p, "entry without its inclusion proof"));
        }
    }
    for (seq, p) in &proofs {
        if !entries.contains_key(seq) {
            errs.push(unexpected(p, "inclusion proof without its entry"));
        }
    }
    if !has_note {
        errs.push(unexpected(CUSTODY_DIR, "no custody/checkpoint.note"));
    }
    if entries.is_empty() {
        errs.push(unexpected(CUSTODY_DIR, "no custody entries"));
    }
    if has_tsr && !has_note {
        errs.push(unexpected(CHECKPOINT_TSR, "token without checkpoint.note"));
    }

    let ring = signers.map(|s| super::signers::custody_ring(ctx, s, pin, &mut errs));
    let cp = if has_note {
        check_checkpoint(ctx, ring.as_deref(), &mut errs)
    } else {
        None
    };

    let mut records = Vec::new();
    for (seq, path) in &entries {
        let Some(bytes) = ctx.read(path, &mut errs) else {
            continue;
        };
        if let Some(r) = check_entry(*seq, path, &bytes, hearing, &mut errs) {
            records.push(r);
        }
        if let (Some(cp), Some(ppath)) = (&cp, proofs.get(seq)) {
            if let Some(pbytes) = ctx.read(ppath, &mut errs) {
                check_proof(
                    *seq,
                    ppath,
                    &pbytes,
                    &merkle::leaf_hash(&bytes),
                    cp,
                    &mut errs,
                );
            }
        }
    }
    let n = records.len();
    let detail = match &cp {
        Some((cp, _)) => format!(
            "{n} custody entries about this hearing, each included in the custody checkpoint of size {} signed by the server key",
            cp.size
        ),
        None => String::new(),
    };
    ctx.record("custody", errs, detail);

    if has_tsr && has_note {
        let note = cp.map(|(_, note)| note);
        check_timestamp(ctx, note.as_deref(), checker, pinned_chain);
    }
    records
}

/// Verifies `custody/checkpoint.note`; returns the checkpoint and its exact bytes.
fn check_checkpoint(
    ctx: &Ctx<'_>,
    ring: Option<&[NoteVerifier]>,
    errs: &mut Vec<VerifyError>,
) -> Option<(Checkpoint, Vec<u8>)> {
    let bytes = ctx.read(CHECKPOINT_NOTE, errs)?;
    let bad = |reason: String| VerifyError::CustodyCheckpointBadSignature { reason };
    let Some(v) = ring.and_then(|r| r.first()) else {
        errs.push(bad("no usable server key".into()));
        return None;
    };
    let body = match note::verify_note_any(&bytes, ring.unwrap_or_default()) {
        Ok((b, _)) => b,
        Err(e) => {
            errs.push(bad(e.to_string()));
            return None;
        }
    };
    let cp = match note::parse_checkpoint(body) {
        Ok(cp) => cp,
        Err(e) => {
            errs.push(bad(e.to_string()));
            return None;
        }
    };
    let expected = format!("{}/{CUSTODY_LOG_ID}", v.name);
    if cp.origin != expected {
        errs.push(VerifyError::CustodyCheckpointWrongOrigin {
            expected,
            found: cp.origin.clone(),
        });
        return None;
    }
    Some((cp, bytes))
}

/// Checks one entry file; returns its record when it parsed as a retrieval entry.
fn check_entry(
    seq: u64,
    path: &str,
    bytes: &[u8],
    hearing: &str,
    errs: &mut Vec<VerifyError>,
) -> Option<CustodyRecord> {
    let malformed = |reason: String| VerifyError::CustodyEntryMalformed {
        path: path.into(),
        reason,
    };
    let e = match entry::decode(bytes) {
        Ok(e) => e,
        Err(err) => {
            errs.push(malformed(err.to_string()));
            return None;
        }
    };
    let EntryBody::Retrieval {
        user,
        retrieved_hearing,
        what,
        result,
    } = &e.body
    else {
        errs.push(malformed(format!(
            "{} entry, not a retrieval",
            e.body.type_name()
        )));
        return None;
    };
    if e.seq != seq {
        errs.push(malformed(format!("seq {} in a file numbered {seq}", e.seq)));
        return None;
    }
    if e.hearing != CUSTODY_LOG_ID {
        errs.push(malformed(format!(
            "hearing {:?}, not {CUSTODY_LOG_ID:?}",
            e.hearing
        )));
        return None;
    }
    if crate::verify::clock::parse_ms(&e.time).is_none() {
        errs.push(malformed(format!("time {:?} is malformed", e.time)));
        return None;
    }
    if retrieved_hearing != hearing {
        errs.push(VerifyError::CustodyEntryWrongHearing {
            path: path.into(),
            expected: hearing.into(),
            found: retrieved_hearing.clone(),
        });
        return None;
    }
    Some(CustodyRecord {
        seq,
        time: e.time.clone(),
        user: user.clone(),
        what: what.clone(),
        result: result.clone(),
    })
}

fn decode_hash(s: &str) -> Option<Hash> {
    STANDARD.decode(s).ok()?.try_into().ok()
}

/// Checks one inclusion proof against the checkpoint.
fn check_proof(
    seq: u64,
    path: &str,
    bytes: &[u8],
    leaf: &Hash,
    (cp, _): &(Checkpoint, Vec<u8>),
    errs: &mut Vec<VerifyError>,
) {
    let invalid = |reason: String| VerifyError::CustodyInclusionInvalid {
        path: path.into(),
        reason,
    };
    if !canonical::is_canonical(bytes) {
        errs.push(invalid("not canonical JSON".into()));
        return;
    }
    let file: InclusionFile = match serde_json::from_slice(bytes) {
        Ok(f) => f,
        Err(e) => {
            errs.push(invalid(format!("malformed: {e}")));
            return;
        }
    };
    if file.leaf_index != seq {
        errs.push(invalid(format!(
            "leaf_index {} in a file numbered {seq}",
            file.leaf_index
        )));
        return;
    }
    if file.tree_size != cp.size {
        errs.push(invalid(format!(
            "tree_size {} but the checkpoint has size {}",
            file.tree_size, cp.size
        )));
        return;
    }
    if decode_hash(&file.root) != Some(cp.root) {
        errs.push(invalid("root is not the checkpoint's root".into()));
        return;
    }
    let Some(proof) = file
        .proof
        .iter()
        .map(|h| decode_hash(h))
        .collect::<Option<Vec<Hash>>>()
    else {
        errs.push(invalid("a proof hash is not 32 bytes of base64".into()));
        return;
    };
    if let Err(e) = merkle::verify_inclusion(seq, cp.size, leaf, &proof, &cp.root) {
        errs.push(invalid(e.to_string()));
    }
}

/// Checks `custody/checkpoint.tsr` over the exact `custody/checkpoint.note` bytes.
fn check_timestamp(
    ctx: &mut Ctx<'_>,
    note: Option<&[u8]>,
    checker: Option<&dyn TimestampVerifier>,
    pinned_chain: Option<&[u8]>,
) {
    const NAME: &str = "custody.timestamp";
    let Some(checker) = checker else {
        ctx.skip(NAME, "token present; no RFC 3161 checker available".into());
        return;
    };
    let Some(note) = note else {
        ctx.skip(NAME, "the custody checkpoint did not verify".into());
        return;
    };
    let mut errs = Vec::new();
    let chain = match pinned_chain {
        Some(c) => Some(c.to_vec()),
        None if ctx.paths.contains("tsa/chain.pem") => ctx.read("tsa/chain.pem", &mut errs),
        None => {
            errs.push(VerifyError::CustodyTimestampInvalid {
                reason: "no TSA chain (tsa/chain.pem) to check it with".into(),
            });
            None
        }
    };
    let token = ctx.read(CHECKPOINT_TSR, &mut errs);
    let mut detail = String::new();
    if let (Some(token), Some(chain)) = (token, chain) {
        match checker.verify(&token, note, &chain) {
            Ok(t) => detail = format!("custody checkpoint time-stamped at {}", t.text),
            Err(TimestampFailure::Mismatch) => errs.push(VerifyError::CustodyTimestampInvalid {
                reason: "the token is not over custody/checkpoint.note".into(),
            }),
            Err(TimestampFailure::Invalid(reason)) => {
                errs.push(VerifyError::CustodyTimestampInvalid { reason })
            }
        }
    }
    ctx.record(NAME, errs, detail);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_strict() {
        assert_eq!(shape("custody/checkpoint.note"), Some(Shape::Note));
        assert_eq!(shape("custody/entries/000012.json"), Some(Shape::Entry(12)));
        assert_eq!(
            shape("custody/entries/1234567.json"),
            Some(Shape::Entry(1_234_567))
        );
        assert_eq!(
            shape("custody/proofs/000003.inclusion.json"),
            Some(Shape::Proof(3))
        );
        for bad in [
            "custody/entries/12.json",
            "custody/entries/0000012.json",
            "custody/entries/00001a.json",
            "custody/entries/+00001.json",
            "custody/proofs/000003.json",
            "custody/entries.jsonl",
            "custody/checkpoint.note.bak",
            "custody/entries/000001.json/x",
        ] {
            assert_eq!(shape(bad), None, "{bad}");
        }
        assert_eq!(entry_path(7), "custody/entries/000007.json");
        assert_eq!(proof_path(7), "custody/proofs/000007.inclusion.json");
    }
}
