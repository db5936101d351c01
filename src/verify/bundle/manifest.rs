//! The bundle's index files: `manifest.json` (format, hearing, key, per-file sha256 and
//! length), `SHA256SUMS`, the file layout, and the server key files.
//!
//! It must never let a file through that the layout does not name or the manifest does
//! not list.

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::signers::{self, Signers};
use crate::verify::entry::is_safe_relative_path;
use crate::verify::error::VerifyError;
use crate::verify::key_history::Pin;
use crate::verify::keys;

/// The manifest `format` value.
pub const BUNDLE_FORMAT: &str = "sworn-bundle/1";
/// Files the manifest does not list (itself, its signature and the checksum list).
pub(crate) const UNLISTED: [&str; 3] = ["manifest.json", "manifest.sig", "SHA256SUMS"];

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`BUNDLE_FORMAT`].
    pub format: String,
    /// Hearing id.
    pub hearing: String,
    /// Log origin.
    pub origin: String,
    /// Server key.
    pub server_key: ManifestKey,
    /// Entries in the log.
    pub log_size: u64,
    /// Path of the final checkpoint note.
    pub final_checkpoint: String,
    /// Every file except manifest.json and SHA256SUMS.
    pub files: Vec<ManifestFile>,
}

/// The server key as the manifest states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestKey {
    /// Signed-note verifier key.
    pub vkey: String,
    /// `sha256:<hex>` of the raw public key.
    pub fingerprint: String,
}

/// One listed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Path relative to the bundle root.
    pub path: String,
    /// Hex SHA-256.
    pub sha256: String,
    /// Length in bytes.
    pub length: u64,
}

/// True if the layout of `docs/bundle-format.md` names this path.
pub(crate) fn layout_allows(path: &str) -> bool {
    const FIXED: [&str; 11] = [
        "manifest.json",
        "manifest.sig",
        "SHA256SUMS",
        "VERIFY.txt",
        "keys/server.pub.pem",
        "keys/server.vkey",
        "keys/history.json",
        "log/entries.jsonl",
        "tsa/chain.pem",
        "minutes/minutes.html",
        "minutes/minutes.sig",
    ];
    if !is_safe_relative_path(path) {
        return false;
    }
    if FIXED.contains(&path) {
        return true;
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if let Some(rest) = path.strip_prefix("log/checkpoints/") {
        let stem = rest
            .strip_suffix(".note")
            .or_else(|| rest.strip_suffix(".tsr"));
        return stem.is_some_and(digits);
    }
    if let Some(rest) = path.strip_prefix("log/proofs/") {
        return rest.strip_suffix(".consistency.json").is_some_and(digits);
    }
    if let Some(rest) = path.strip_prefix("attestations/") {
        return !rest.contains('/');
    }
    ["media/", "derived/"].iter().any(|p| path.starts_with(p))
}

/// True for paths of the export-time custody extract, which the manifest never lists.
pub(crate) fn is_custody_extract(path: &str) -> bool {
    path.starts_with(super::custody::CUSTODY_DIR)
}

/// True for files the manifest never lists: the custody extract and the evidence
/// record (`archive/**`, added and renewed after sealing).
fn is_unlisted_tree(path: &str) -> bool {
    is_custody_extract(path) || crate::verify::archive::is_archive(path)
}

/// Reads and checks manifest.json, SHA256SUMS, the layout, and every file's digest.
pub(crate) fn check_files(ctx: &mut Ctx<'_>) -> Option<Manifest> {
    let mut errs = Vec::new();
    let raw = ctx.read("manifest.json", &mut errs);
    let man: Option<Manifest> = raw.and_then(|b| match serde_json::from_slice::<Manifest>(&b) {
        Ok(m) => {
            ctx.manifest_bytes = b;
            Some(m)
        }
        Err(e) => {
            errs.push(VerifyError::ManifestMalformed {
                reason: e.to_string(),
            });
            None
        }
    });
    let Some(man) = man else {
        ctx.record("manifest", errs, String::new());
        return None;
    };
    if man.format != super::BUNDLE_FORMAT {
        errs.push(VerifyError::ManifestWrongFormat {
            found: man.format.clone(),
        });
    }
    // Digest every file once. The custody extract (`custody/**`) is added at export time,
    // is not in the manifest and is checked by its own rules (`custody.rs`).
    let paths: Vec<String> = ctx
        .paths
        .iter()
        .filter(|p| !is_unlisted_tree(p))
        .cloned()
        .collect();
    for p in &paths {
        if !layout_allows(p) {
            errs.push(VerifyError::ExtraFile { path: p.clone() });
            continue;
        }
        let Some(len) = ctx.file_len(p, &mut errs) else {
            continue;
        };
        if len == 0 {
            errs.push(VerifyError::EmptyFile { path: p.clone() });
        }
        if let Some(sha) = ctx.hash_range(p, 0, len, &mut errs) {
            ctx.digests.insert(p.clone(), (sha, len));
        }
    }
    let mut listed: BTreeMap<&str, &ManifestFile> = BTreeMap::new();
    for f in &man.files {
        if listed.insert(f.path.as_str(), f).is_some()
            || UNLISTED.contains(&f.path.as_str())
            || is_unlisted_tree(&f.path)
        {
            errs.push(VerifyError::ManifestMalformed {
                reason: format!("{} listed twice or must not be listed", f.path),
            });
        }
    }
    for p in &paths {
        if !UNLISTED.contains(&p.as_str()) && layout_allows(p) && !listed.contains_key(p.as_str()) {
            errs.push(VerifyError::ExtraFile { path: p.clone() });
        }
    }
    for (path, f) in &listed {
        match ctx.digests.get(*path) {
            None if !ctx.paths.contains(*path) => errs.push(VerifyError::MissingFile {
                path: (*path).into(),
            }),
            None => {}
            Some((sha, len)) => {
                if *sha != f.sha256 {
                    errs.push(VerifyError::ManifestHashMismatch {
                        path: (*path).into(),
                        expected: f.sha256.clone(),
                        calculated: sha.clone(),
                    });
                } else if *len != f.length {
                    errs.push(VerifyError::ManifestLengthMismatch {
                        path: (*path).into(),
                        expected: f.length,
                        actual: *len,
                    });
                }
            }
        }
    }
    let n = man.files.len();
    ctx.record(
        "manifest",
        errs,
        format!("{n} files listed, all present and matching"),
    );
    check_sums(ctx);
    Some(man)
}

fn check_sums(ctx: &mut Ctx<'_>) {
    let mut errs = Vec::new();
    let bad = |reason: String| VerifyError::Sha256SumsMismatch { reason };
    if let Some(b) = ctx.read("SHA256SUMS", &mut errs) {
        let text = String::from_utf8_lossy(&b);
        let mut seen = BTreeSet::new();
        if !text.ends_with('\n') {
            errs.push(bad("no final newline".into()));
        }
        for line in text.lines() {
            let Some((sha, path)) = line.split_once("  ") else {
                errs.push(bad(format!("malformed line {line:?}")));
                continue;
            };
            if !seen.insert(path.to_string()) {
                errs.push(bad(format!("{path} listed twice")));
            }
            match ctx.digests.get(path) {
                Some((actual, _)) if actual == sha => {}
                Some(_) => errs.push(bad(format!("{path}: checksum differs"))),
                None => errs.push(bad(format!("{path}: listed but not in the bundle"))),
            }
        }
        for p in &ctx.paths {
            if p != "SHA256SUMS" && !is_unlisted_tree(p) && !seen.contains(p) {
                errs.push(bad(format!("{p} not listed")));
            }
        }
    }
    ctx.record("sha256sums", errs, "every file matches SHA256SUMS".into());
}

/// Checks the server key files against each other, the manifest, the carried key
/// history and the pinned key or history. Returns the keys to check checkpoints with.
pub(crate) fn check_keys(ctx: &mut Ctx<'_>, man: &Manifest, pin: Option<&Pin>) -> Option<Signers> {
    let mut errs = Vec::new();
    let pem = ctx.read("keys/server.pub.pem", &mut errs).and_then(|b| {
        let text = String::from_utf8_lossy(&b).into_owned();
        keys::parse_public_key_pem(&text)
            .map_err(|e| {
                errs.push(VerifyError::KeyMalformed {
                    path: "keys/server.pub.pem".into(),
                    reason: e.to_string(),
                })
            })
            .ok()
    });
    let vkey = ctx.read("keys/server.vkey", &mut errs).and_then(|b| {
        let text = String::from_utf8_lossy(&b).into_owned();
        keys::parse_vkey(&text)
            .map_err(|e| {
                errs.push(VerifyError::KeyMalformed {
                    path: "keys/server.vkey".into(),
                    reason: e.to_string(),
                })
            })
            .ok()
    });
    let mut found = None;
    if let (Some(pem), Some(v)) = (pem, vkey) {
        let manifest_v = keys::parse_vkey(&man.server_key.vkey).ok();
        if pem != v.key {
            errs.push(VerifyError::KeyMismatch {
                reason: "server.pub.pem and server.vkey hold different keys".into(),
            });
        } else if manifest_v.as_ref() != Some(&v) {
            errs.push(VerifyError::KeyMismatch {
                reason: "manifest vkey differs from keys/server.vkey".into(),
            });
        } else if man.server_key.fingerprint != keys::fingerprint(&v.key) {
            errs.push(VerifyError::KeyMismatch {
                reason: "manifest fingerprint is not the key's".into(),
            });
        } else {
            let before = errs.len();
            let carried = signers::read_carried(ctx, &v, &mut errs);
            let trusted = match pin {
                Some(p) if errs.len() == before => {
                    match signers::trust(p, &v.key, carried.as_ref()) {
                        Ok(t) => Some(Some(t)),
                        Err(e) => {
                            errs.push(e);
                            None
                        }
                    }
                }
                Some(_) => None,
                None if errs.len() == before => Some(None),
                None => None,
            };
            if let Some(t) = trusted {
                found = Some((v, carried, t));
            }
        }
    }
    let fp = |k: &VerifyingKey| keys::fingerprint(k);
    let detail = match &found {
        Some((v, _, Some(t))) => match &t.via {
            None => format!("server key {} is the pinned key", fp(&v.key)),
            Some(p) => format!(
                "server key {} succeeds the pinned key {} through signed rotations",
                fp(&v.key),
                fp(p)
            ),
        },
        Some((v, _, None)) => format!("server key {} (consistent; not pinned)", fp(&v.key)),
        None => String::new(),
    };
    let verifier = found.as_ref().map(|(v, _, _)| v.clone());
    let signers = found.map(|(v, carried, _)| signers::signers(v, carried, pin));
    ctx.record("keys", errs, detail);
    if let Some(h) = signers.as_ref().and_then(|s| s.carried.as_ref()) {
        let n = h.keys.len();
        ctx.record(
            "keys.history",
            Vec::new(),
            format!(
                "{n} server keys, each signed by its predecessor; the bundle key is the newest"
            ),
        );
    }
    // The manifest (and through it every unsigned file: VERIFY.txt, tsa/) is signed by
    // the server key; custody/ is signed through its own checkpoint.
    let mut errs = Vec::new();
    let sig = ctx.read("manifest.sig", &mut errs);
    let pinned_key = match pin {
        Some(Pin::Key(k)) => Some(*k),
        Some(Pin::History(h)) => h.current().copied(),
        None => None,
    };
    let key = verifier.as_ref().map(|v| v.key).or(pinned_key);
    if let (Some(sig), Some(key)) = (sig, key) {
        let ok = <[u8; 64]>::try_from(sig.as_slice())
            .ok()
            .map(|s| ed25519_dalek::Signature::from_bytes(&s))
            .is_some_and(|s| key.verify_strict(&ctx.manifest_bytes, &s).is_ok());
        if !ok {
            errs.push(VerifyError::ManifestBadSignature {
                reason: "manifest.sig is not the server key's signature over manifest.json".into(),
            });
        }
    } else if errs.is_empty() {
        errs.push(VerifyError::ManifestBadSignature {
            reason: "no usable server key".into(),
        });
    }
    ctx.record(
        "manifest.signature",
        errs,
        "manifest.json signed by the server key".into(),
    );
    if pin.is_none() {
        if let Some(v) = &verifier {
            ctx.skip(
                "keys.pinning",
                format!(
                    "no --trust key given: checked against the bundle's own key {}; compare it with the court's published fingerprint",
                    keys::fingerprint(&v.key)
                ),
            );
        }
    }
    signers
}
