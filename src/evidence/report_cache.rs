//! The verification report of a sealed bundle, computed once when it is sealed and
//! stored beside it (`data/hearings/<id>/bundle.report.json`), so the portal's summary
//! does not re-hash the bundle at every request. The cache is keyed by the bundle's
//! files as they are on disk (every path, length and modification time, hashed): if a
//! file changes (a sealed bundle never does; a derived copy may be added) the key no
//! longer matches and the report is computed again. The report is the server's own
//! check against its own key; anyone re-checks with `sworn verify`.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Why the report could not be computed or stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportCacheError {
    #[error("bundle report cache: {0}")]
    Io(#[from] std::io::Error),
    #[error("bundle report: {0}")]
    Verify(String),
}

/// `bundle.report.json` beside the bundle directory `bundle`.
pub fn cache_path(bundle: &Path) -> PathBuf {
    bundle.with_extension("report.json")
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let meta = std::fs::symlink_metadata(e.path())?;
        let rel = e.path();
        let rel = rel.strip_prefix(root).unwrap_or(&rel).display().to_string();
        if meta.is_dir() {
            walk(root, &e.path(), out)?;
        } else {
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            out.push(format!("{rel}\0{}\0{mtime}", meta.len()));
        }
    }
    Ok(())
}

/// The key of the bundle directory as it is now.
pub fn key(bundle: &Path) -> Result<String, ReportCacheError> {
    let mut lines = Vec::new();
    walk(bundle, bundle, &mut lines)?;
    Ok(hex::encode(Sha256::digest(lines.join("\n").as_bytes())))
}

/// Verifies the bundle against the server's own key and key history (the report the
/// portal shows: bundles sealed before a rotation verify through the history).
pub fn compute(
    bundle: &Path,
    own: &super::ServerKey,
) -> Result<serde_json::Value, ReportCacheError> {
    let src = crate::verify_cli::DirSource::open(bundle)
        .map_err(|e| ReportCacheError::Verify(e.to_string()))?;
    let opts = crate::verify::VerifyOptions {
        trusted_key: Some(own.verifying_key()),
        trusted_history: own.history().map(|h| h.parsed.clone()),
        timestamps: Some(&crate::verify::bundle::Rfc3161Checker),
        trusted_tsa_chain: None,
    };
    serde_json::to_value(crate::verify::verify_bundle(&src, &opts))
        .map_err(|e| ReportCacheError::Verify(e.to_string()))
}

/// Computes the report and stores it with the bundle's key (at seal time).
pub fn refresh(
    bundle: &Path,
    own: &super::ServerKey,
) -> Result<serde_json::Value, ReportCacheError> {
    let k = key(bundle)?;
    let report = compute(bundle, own)?;
    let doc = serde_json::json!({"key": k, "report": report});
    let bytes = serde_json::to_vec(&doc).map_err(|e| ReportCacheError::Verify(e.to_string()))?;
    super::fsutil::write_durable(&cache_path(bundle), &bytes)?;
    Ok(report)
}

/// The stored report if its key matches the bundle as it is now.
pub fn load(bundle: &Path) -> Option<serde_json::Value> {
    let bytes = std::fs::read(cache_path(bundle)).ok()?;
    let mut doc: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let now = key(bundle).ok()?;
    (doc["key"].as_str() == Some(now.as_str())).then(|| doc["report"].take())
}

/// The stored report, or a new one (computed and stored; `true`) if it is missing or
/// stale. Blocking: hashes the bundle when it computes.
pub fn load_or_refresh(
    bundle: &Path,
    own: &super::ServerKey,
) -> Result<(serde_json::Value, bool), ReportCacheError> {
    match load(bundle) {
        Some(r) => Ok((r, false)),
        None => refresh(bundle, own).map(|r| (r, true)),
    }
}
