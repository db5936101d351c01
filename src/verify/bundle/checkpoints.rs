//! Signed checkpoints (`log/checkpoints/NNNNNN.note`), consistency proofs between
//! successive checkpoints (`log/proofs/NNNNNN.consistency.json`) and RFC 3161 tokens
//! (`NNNNNN.tsr`, over the exact note bytes).
//!
//! Every proof root must equal a signed checkpoint root; it must never accept a root it
//! did not see signed by the trusted key.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::log::{LogSpec, LogView};
use super::manifest::Manifest;
use super::signers::{self, Signers};
use super::{Ctx, TimestampFailure, TimestampVerifier};
use crate::verify::clock;
use crate::verify::error::VerifyError;
use crate::verify::merkle::{Hash, verify_consistency};
use crate::verify::note::parse_checkpoint;

/// `log/proofs/NNNNNN.consistency.json` (roots and proof hashes in standard base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyFile {
    /// Size of the previous checkpoint.
    pub old_size: u64,
    /// Size of this checkpoint.
    pub new_size: u64,
    /// Root of the previous checkpoint.
    pub old_root: String,
    /// Root of this checkpoint.
    pub new_root: String,
    /// Proof hashes.
    pub proof: Vec<String>,
}

/// A checkpoint that verified.
pub(crate) struct GoodCheckpoint {
    pub path: String,
    pub root: Hash,
    pub note: Vec<u8>,
}

/// Verified checkpoints by size.
pub(crate) type Checkpoints = BTreeMap<u64, GoodCheckpoint>;

/// `log/checkpoints/NNNNNN.note` for a size.
pub fn note_path(size: u64) -> String {
    format!("log/checkpoints/{size:06}.note")
}

fn size_from_path(path: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let digits = path.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.len() < 6 || (digits.len() > 6 && digits.starts_with('0')) {
        return None;
    }
    digits.parse().ok()
}

/// Checks every `<base>checkpoints/*.note`. For the hearing log, `man` names the final
/// checkpoint; for the custody log (`man` = None) the largest must cover the log.
pub(crate) fn check_checkpoints(
    ctx: &mut Ctx<'_>,
    spec: &LogSpec<'_>,
    man: Option<&Manifest>,
    log: &LogView,
    signers: Option<&Signers>,
) -> Checkpoints {
    let mut errs = Vec::new();
    let mut good = Checkpoints::new();
    let log_size = log.entries.len() as u64;
    let cp_dir = format!("{}checkpoints/", spec.base);
    let check = if man.is_some() {
        "checkpoints".to_string()
    } else {
        format!("{}.checkpoints", spec.name)
    };
    if let Some(man) = man {
        let expected_origin_tail = format!("/hearing/{}", man.hearing);
        if !man.origin.ends_with(&expected_origin_tail) {
            errs.push(VerifyError::CheckpointWrongOrigin {
                path: "manifest.json".into(),
                expected: format!("<server>{expected_origin_tail}"),
                found: man.origin.clone(),
            });
        }
    }
    let notes: Vec<String> = ctx
        .paths
        .iter()
        .filter(|p| p.starts_with(&cp_dir) && p.ends_with(".note"))
        .cloned()
        .collect();
    if notes.is_empty() {
        errs.push(VerifyError::MissingFile {
            path: format!("{cp_dir}*.note"),
        });
    }
    for path in notes {
        // Every failure below is reported once, here; later checks only see `good`.
        let Some(bytes) = ctx.read(&path, &mut errs) else {
            continue;
        };
        let Some(signers) = signers else {
            errs.push(VerifyError::CheckpointBadSignature {
                path: path.clone(),
                reason: "no usable server key".into(),
            });
            continue;
        };
        let covered_time = |body: &str| {
            let cp = parse_checkpoint(body).ok()?;
            let i = usize::try_from(cp.size).ok()?.checked_sub(1)?;
            log.entries.get(i)?.as_ref().map(|e| e.time.clone())
        };
        let body = match signers::verify_checkpoint(&path, &bytes, &signers.ring, covered_time) {
            Ok(b) => b,
            Err(e) => {
                errs.push(e);
                continue;
            }
        };
        let cp = match parse_checkpoint(body) {
            Ok(cp) => cp,
            Err(e) => {
                errs.push(VerifyError::CheckpointMalformed {
                    path,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if cp.origin != spec.origin {
            errs.push(VerifyError::CheckpointWrongOrigin {
                path,
                expected: spec.origin.clone(),
                found: cp.origin,
            });
            continue;
        }
        if size_from_path(&path, &cp_dir, ".note") != Some(cp.size)
            || cp.size == 0
            || cp.size > log_size
        {
            errs.push(VerifyError::CheckpointSizeInvalid {
                path,
                size: cp.size,
                log_size,
            });
            continue;
        }
        match log.root_at(cp.size) {
            Some(r) if *r == cp.root => {
                good.insert(
                    cp.size,
                    GoodCheckpoint {
                        path,
                        root: cp.root,
                        note: bytes,
                    },
                );
            }
            Some(r) => errs.push(VerifyError::RootMismatch {
                path,
                expected: STANDARD.encode(cp.root),
                calculated: STANDARD.encode(r),
            }),
            None => errs.push(VerifyError::CheckpointSizeInvalid {
                path,
                size: cp.size,
                log_size,
            }),
        }
    }
    let n = good.len();
    ctx.record(
        &check,
        errs,
        format!("{n} checkpoints signed by the server key, roots match the entries"),
    );

    // The final checkpoint must be the one the manifest names and cover the whole log.
    let mut errs = Vec::new();
    if let Some(man) = man {
        check_named_final(ctx, man, &good, log_size, &mut errs);
    }
    if let Some((&max, cp)) = good.last_key_value() {
        if max != log_size {
            errs.push(VerifyError::CheckpointNotFinal {
                path: cp.path.clone(),
                size: max,
                log_size,
            });
        }
    }
    ctx.record(
        &format!("{check}.final"),
        errs,
        format!("final checkpoint covers all {log_size} entries"),
    );
    good
}

fn check_named_final(
    ctx: &Ctx<'_>,
    man: &Manifest,
    good: &Checkpoints,
    log_size: u64,
    errs: &mut Vec<VerifyError>,
) {
    let final_size = size_from_path(&man.final_checkpoint, "log/checkpoints/", ".note");
    match final_size.and_then(|s| good.get(&s).map(|c| (s, c))) {
        Some((size, cp)) if size == log_size && cp.path == man.final_checkpoint => {}
        Some((size, _)) => errs.push(VerifyError::CheckpointNotFinal {
            path: man.final_checkpoint.clone(),
            size,
            log_size,
        }),
        // Present but invalid: already reported under "checkpoints".
        None if ctx.paths.contains(&man.final_checkpoint) && final_size.is_some() => {}
        None if ctx.paths.contains(&man.final_checkpoint) => {
            errs.push(VerifyError::CheckpointNotFinal {
                path: man.final_checkpoint.clone(),
                size: 0,
                log_size,
            })
        }
        None => errs.push(VerifyError::MissingFile {
            path: man.final_checkpoint.clone(),
        }),
    }
}

fn b64_hash(s: &str) -> Option<Hash> {
    STANDARD.decode(s).ok()?.try_into().ok()
}

pub(crate) fn check_proofs(ctx: &mut Ctx<'_>, spec: &LogSpec<'_>, cps: &Checkpoints) {
    let mut errs = Vec::new();
    let cp_dir = format!("{}checkpoints/", spec.base);
    let proof_dir = format!("{}proofs/", spec.base);
    let sizes: Vec<u64> = cps.keys().copied().collect();
    let mut expected_paths = std::collections::BTreeSet::new();
    for pair in sizes.windows(2) {
        let [old, new] = pair else { continue };
        let path = format!("{proof_dir}{new:06}.consistency.json");
        expected_paths.insert(path.clone());
        let Some(bytes) = ctx.read(&path, &mut errs) else {
            continue;
        };
        let invalid = |reason: String| VerifyError::ConsistencyProofInvalid {
            path: path.clone(),
            reason,
        };
        let file: ConsistencyFile = match serde_json::from_slice(&bytes) {
            Ok(f) => f,
            Err(e) => {
                errs.push(invalid(e.to_string()));
                continue;
            }
        };
        let (Some(old_root), Some(new_root)) = (b64_hash(&file.old_root), b64_hash(&file.new_root))
        else {
            errs.push(invalid("roots are not base64 SHA-256".into()));
            continue;
        };
        let proof: Option<Vec<Hash>> = file.proof.iter().map(|h| b64_hash(h)).collect();
        let Some(proof) = proof else {
            errs.push(invalid("proof hash is not base64 SHA-256".into()));
            continue;
        };
        if file.old_size != *old || file.new_size != *new {
            errs.push(invalid(format!(
                "proves {}->{}, checkpoints are {old}->{new}",
                file.old_size, file.new_size
            )));
            continue;
        }
        let signed_old = cps.get(old).map(|c| c.root);
        let signed_new = cps.get(new).map(|c| c.root);
        if signed_old != Some(old_root) || signed_new != Some(new_root) {
            errs.push(VerifyError::ProofRootNotCheckpointed { path: path.clone() });
            continue;
        }
        if let Err(e) = verify_consistency(*old, *new, &old_root, &new_root, &proof) {
            errs.push(invalid(e.to_string()));
        }
    }
    // Proofs ending at a checkpoint that failed its own checks are accounted for (that
    // failure is already reported); any other proof file is extra.
    let mut note_sizes: Vec<u64> = ctx
        .paths
        .iter()
        .filter_map(|p| size_from_path(p, &cp_dir, ".note"))
        .collect();
    note_sizes.sort_unstable();
    let accounted: std::collections::BTreeSet<String> = note_sizes
        .iter()
        .skip(1)
        .map(|s| format!("{proof_dir}{s:06}.consistency.json"))
        .collect();
    for p in ctx.paths.iter().filter(|p| p.starts_with(&proof_dir)) {
        if !expected_paths.contains(p) && !accounted.contains(p) {
            errs.push(VerifyError::ExtraFile { path: p.clone() });
        }
    }
    let n = expected_paths.len();
    let check = if spec.base == "log/" {
        "consistency".to_string()
    } else {
        format!("{}.consistency", spec.name)
    };
    ctx.record(
        &check,
        errs,
        format!("{n} consistency proofs link successive signed checkpoints"),
    );
}

/// How far the log's own clock may run ahead of the TSA's before a token contradicts
/// the entry times it covers.
pub const CLOCK_TOLERANCE_MS: i64 = 10 * 60 * 1000;

pub(crate) fn check_timestamps(
    ctx: &mut Ctx<'_>,
    log: &LogView,
    cps: &Checkpoints,
    checker: Option<&dyn TimestampVerifier>,
    pinned_chain: Option<&[u8]>,
) {
    let mut errs = Vec::new();
    let tsrs: Vec<String> = ctx
        .paths
        .iter()
        .filter(|p| p.starts_with("log/checkpoints/") && p.ends_with(".tsr"))
        .cloned()
        .collect();
    if tsrs.is_empty() {
        ctx.skip(
            "timestamps",
            "no RFC 3161 time-stamp tokens in the bundle".into(),
        );
        return;
    }
    let Some(checker) = checker else {
        ctx.skip(
            "timestamps",
            format!(
                "{} tokens present; no RFC 3161 checker available",
                tsrs.len()
            ),
        );
        return;
    };
    let chain = match pinned_chain {
        Some(c) => Some(c.to_vec()),
        None => ctx.read("tsa/chain.pem", &mut errs),
    };
    let anchor = if pinned_chain.is_some() {
        "pinned TSA chain"
    } else {
        "the bundle's tsa/chain.pem (not pinned)"
    };
    let mut times = Vec::new();
    let mut max_lag_ms = 0i64;
    for path in &tsrs {
        let note = size_from_path(path, "log/checkpoints/", ".tsr").and_then(|s| cps.get(&s));
        let Some(note) = note else {
            let note_path = path.replace(".tsr", ".note");
            if !ctx.paths.contains(&note_path) {
                errs.push(VerifyError::ExtraFile { path: path.clone() });
            } // else: the note failed its own checks, reported under "checkpoints".
            continue;
        };
        let size = size_from_path(path, "log/checkpoints/", ".tsr").unwrap_or(0);
        let (Some(token), Some(chain)) = (ctx.read(path, &mut errs), chain.as_ref()) else {
            continue;
        };
        match checker.verify(&token, &note.note, chain) {
            Ok(t) => {
                // The token proves entries 0..size existed at genTime: the log must not
                // claim a later time for them (beyond clock tolerance).
                let last = log
                    .entries
                    .get(usize::try_from(size).unwrap_or(usize::MAX).wrapping_sub(1))
                    .and_then(|e| e.as_ref())
                    .and_then(|e| clock::parse_ms(&e.time).map(|ms| (ms, e.time.clone())));
                let gen_ms = t.unix_seconds.saturating_mul(1000);
                if let Some((ms, text)) = last {
                    if ms > gen_ms.saturating_add(1000 + CLOCK_TOLERANCE_MS) {
                        errs.push(VerifyError::TimestampBeforeEntries {
                            path: path.clone(),
                            entry_time: text,
                            gen_time: t.text.clone(),
                        });
                    }
                    max_lag_ms = max_lag_ms.max(gen_ms.saturating_sub(ms));
                }
                times.push(t.text)
            }
            Err(TimestampFailure::Mismatch) => {
                errs.push(VerifyError::TimestampMismatch { path: path.clone() })
            }
            Err(TimestampFailure::Invalid(reason)) => errs.push(VerifyError::TimestampInvalid {
                path: path.clone(),
                reason,
            }),
        }
    }
    times.sort();
    let detail = format!(
        "{} tokens over their checkpoints under {anchor}, each no earlier than the entries it covers; largest lag {} s (first {}, last {})",
        times.len(),
        max_lag_ms / 1000,
        times.first().map(String::as_str).unwrap_or("-"),
        times.last().map(String::as_str).unwrap_or("-")
    );
    ctx.record("timestamps", errs, detail);
}
