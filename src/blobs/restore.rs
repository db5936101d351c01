//! Restoring a hearing from object storage onto this node (#16 point 4): the hearing's
//! node died, the hearing was moved here (`crate::cluster::failover`), and what the dead
//! node shipped at its checkpoints (`super::segments`) becomes this node's copy:
//!
//! - the log: the chain of segments from entry 0 (`<m>-<n>.jsonl`, each starting where
//!   the last ended), their checkpoints, time-stamps, proofs and attestations;
//! - the media: each file's parts laid end to end from byte 0, as far as they reach.
//!
//! The copy is built beside the hearing's directory and put in its place in one rename;
//! a directory already there (this node ran the hearing before it moved away) is moved
//! to `superseded/` first, never deleted. The hearing's log then opens as after a crash
//! (`HearingLog::open` checks every line and checkpoint signature) and recordings left
//! open are sealed at their last committed byte.
//!
//! A closed hearing of a dead node is restored as it was sealed ([`restore_sealed`]),
//! when it is first asked for.
//!
//! It must never write outside the hearing's directory and `superseded/`, and never
//! take an object name as a path without checking it.

use super::segments::{Shipped, write_mark};
use super::{BlobError, Blobs};
use crate::domain::HearingId;
use crate::paths::DataPaths;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt as _;

/// What a restore found in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Log entries restored (the newest shipped checkpoint's size; 0: nothing shipped).
    pub size: u64,
    /// Media files restored.
    pub media_files: usize,
    /// Their bytes in all.
    pub media_bytes: u64,
    /// Where this node's older copy of the hearing went, if it had one.
    pub superseded: Option<PathBuf>,
}

/// `m-n` from `.../<m:012>-<n:012>.<ext>`.
fn span(key: &str) -> Option<(u64, u64)> {
    let name = key.rsplit('/').next()?;
    let stem = name.split('.').next()?;
    let (m, n) = stem.split_once('-')?;
    Some((m.parse().ok()?, n.parse().ok()?))
}

/// A plain file name (no separator, not hidden, not `..`).
fn plain(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains('/') && !name.contains('\\')
}

/// Restores hearing `id` from the store into `data` (see the module doc).
pub async fn restore_hearing(
    blobs: &Blobs,
    data: &DataPaths,
    id: &HearingId,
) -> Result<Restored, BlobError> {
    let Blobs::S3(s3) = blobs else {
        return Err(BlobError::Settings(
            "no object storage is configured: a hearing can only be restored from one".into(),
        ));
    };
    let hearing = data.hearing(id);
    let hkey = s3
        .data_key(hearing.dir())
        .ok_or_else(|| BlobError::OutsideDataDir(hearing.dir().to_path_buf()))?;
    let lkey = format!("{hkey}/log");

    // The chain of segments from entry 0.
    let mut starts: BTreeMap<u64, Vec<(u64, String)>> = BTreeMap::new();
    for (key, _) in s3.list(&format!("{lkey}/segments")).await? {
        if let Some((m, n)) = span(&key).filter(|(m, n)| n > m) {
            starts.entry(m).or_default().push((n, key));
        }
    }
    let mut entries: Vec<u8> = Vec::new();
    let mut size = 0u64;
    while let Some(next) = starts.get_mut(&size) {
        next.sort();
        if next.len() > 1 {
            tracing::warn!(
                at = size,
                "object storage holds two segments from one size: the longer is taken"
            );
        }
        let Some((n, key)) = next.pop() else { break };
        let bytes = s3.get(&key).await?;
        let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64;
        if lines != n - size || bytes.last().is_some_and(|b| *b != b'\n') {
            tracing::warn!(
                at = size,
                "a segment in object storage is cut short: the log is restored up to it"
            );
            break;
        }
        entries.extend_from_slice(&bytes);
        size = n;
    }

    // Build the copy beside the hearing's directory.
    let stage = fresh_stage(data, id).await?;
    let log = stage.join("log");
    for d in ["checkpoints", "proofs", "attestations"] {
        tokio::fs::create_dir_all(log.join(d))
            .await
            .map_err(local(&log))?;
    }
    tokio::fs::create_dir_all(stage.join("media"))
        .await
        .map_err(local(&stage))?;
    write_synced(&log.join(crate::paths::ENTRIES), &entries).await?;

    // Checkpoints, stamps and proofs up to the restored size; every attestation.
    let mut attestations = std::collections::BTreeSet::new();
    for (dir, upto) in [
        ("checkpoints", Some(size)),
        ("proofs", Some(size)),
        ("attestations", None),
    ] {
        for (key, _) in s3.list(&format!("{lkey}/{dir}")).await? {
            let Some(name) = key.rsplit('/').next().filter(|n| plain(n)) else {
                continue;
            };
            let n: Option<u64> = name.split('.').next().and_then(|s| s.parse().ok());
            if let Some(limit) = upto
                && n.is_none_or(|n| n > limit)
            {
                continue;
            }
            let bytes = s3.get(&key).await?;
            write_synced(&log.join(dir).join(name), &bytes).await?;
            if dir == "attestations" {
                attestations.insert(name.to_owned());
            }
        }
    }

    // Media: each file's parts end to end from byte 0, as far as they reach.
    let mut parts: BTreeMap<String, Vec<(u64, u64, String)>> = BTreeMap::new();
    let pkey = format!("{hkey}/parts/");
    for (key, _) in s3.list(&format!("{hkey}/parts")).await? {
        let Some(rest) = key.strip_prefix(&pkey) else {
            continue;
        };
        let Some((file, _)) = rest.split_once('/') else {
            continue;
        };
        if let (true, Some((from, to))) = (plain(file), span(&key)) {
            parts
                .entry(file.to_owned())
                .or_default()
                .push((from, to, key));
        }
    }
    let mut media: BTreeMap<String, u64> = BTreeMap::new();
    let mut media_bytes = 0u64;
    for (file, mut list) in parts {
        list.sort();
        let path = stage.join("media").join(&file);
        let mut out = tokio::fs::File::create(&path).await.map_err(local(&path))?;
        let mut at = 0u64;
        for (from, to, key) in list {
            if from > at || to <= at {
                continue;
            }
            let bytes = s3.get(&key).await?;
            if bytes.len() as u64 != to - from {
                tracing::warn!("a media part in object storage has the wrong length: skipped");
                continue;
            }
            let skip =
                usize::try_from(at - from).map_err(|e| BlobError::Settings(e.to_string()))?;
            out.write_all(&bytes[skip..]).await.map_err(local(&path))?;
            at = to;
        }
        out.sync_all().await.map_err(local(&path))?;
        media_bytes += at;
        media.insert(file, at);
    }
    let media_files = media.len();
    write_mark(
        &log,
        &Shipped {
            size,
            offset: entries.len() as u64,
            media,
            attestations,
        },
    )
    .map_err(local(&log))?;

    // Into place; an older copy is kept aside, never deleted.
    let superseded = put_in_place(data, id, &stage).await?;
    Ok(Restored {
        size,
        media_files,
        media_bytes,
        superseded,
    })
}

/// Restores the sealed hearing `id` from the store into `data`: every file its seal
/// archived (`super::ship_sealed_hearing`: the log, media, derived copies, the bundle
/// directory and `bundle.zip`), streamed to disk, then put in place as
/// [`restore_hearing`] does; the shipments of its open life (`parts/`, the log's
/// `segments/`) are left in the store. [`BlobError::NotFound`] if the store holds no
/// sealed bundle of it. Returns the files and bytes restored.
pub async fn restore_sealed(
    blobs: &Blobs,
    data: &DataPaths,
    id: &HearingId,
) -> Result<(usize, u64), BlobError> {
    let Blobs::S3(s3) = blobs else {
        return Err(BlobError::Settings(
            "no object storage is configured: a hearing can only be restored from one".into(),
        ));
    };
    let hearing = data.hearing(id);
    let hkey = s3
        .data_key(hearing.dir())
        .ok_or_else(|| BlobError::OutsideDataDir(hearing.dir().to_path_buf()))?;
    let zip = format!("{hkey}/bundle.zip");
    if !s3.exists(&zip).await? {
        return Err(BlobError::NotFound { key: zip });
    }
    let stage = fresh_stage(data, id).await?;
    let prefix = format!("{hkey}/");
    let live_only = [format!("{hkey}/parts/"), format!("{hkey}/log/segments/")];
    let (mut files, mut bytes) = (0usize, 0u64);
    for (key, _) in s3.list(&hkey).await? {
        let Some(rel) = key.strip_prefix(&prefix) else {
            continue;
        };
        if live_only.iter().any(|p| key.starts_with(p.as_str())) || !rel.split('/').all(plain) {
            continue;
        }
        let dest = stage.join(rel);
        if let Some(dir) = dest.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(local(dir))?;
        }
        bytes += s3.get_to_file(&key, &dest).await?;
        files += 1;
    }
    let marker = serde_json::json!({"store": s3.label(), "files": files});
    write_synced(
        &stage.join(super::SHIPPED_MARKER),
        marker.to_string().as_bytes(),
    )
    .await?;
    put_in_place(data, id, &stage).await?;
    Ok((files, bytes))
}

/// An I/O error about `path`, for `map_err`.
fn local(path: &Path) -> impl FnOnce(std::io::Error) -> BlobError + use<> {
    let path = path.to_path_buf();
    move |source| BlobError::Local { path, source }
}

/// An empty directory beside hearing `id`'s, where its restored copy is built (what an
/// interrupted restore left there is removed first).
async fn fresh_stage(data: &DataPaths, id: &HearingId) -> Result<PathBuf, BlobError> {
    let stage = data
        .hearing(id)
        .dir()
        .with_file_name(format!(".restore-{}", id.as_str()));
    if tokio::fs::try_exists(&stage).await.unwrap_or(false) {
        tokio::fs::remove_dir_all(&stage)
            .await
            .map_err(local(&stage))?;
    }
    Ok(stage)
}

/// Renames the built copy `stage` to the hearing's directory; a directory already
/// there goes to `superseded/` (never deleted). Returns where it went.
async fn put_in_place(
    data: &DataPaths,
    id: &HearingId,
    stage: &Path,
) -> Result<Option<PathBuf>, BlobError> {
    let hearing = data.hearing(id);
    let mut superseded = None;
    if tokio::fs::try_exists(hearing.dir()).await.unwrap_or(false) {
        let aside = data.superseded().join(format!(
            "{}-{}",
            id.as_str(),
            time::OffsetDateTime::now_utc().unix_timestamp()
        ));
        tokio::fs::create_dir_all(data.superseded())
            .await
            .map_err(local(&aside))?;
        tokio::fs::rename(hearing.dir(), &aside)
            .await
            .map_err(local(&aside))?;
        superseded = Some(aside);
    }
    tokio::fs::rename(stage, hearing.dir())
        .await
        .map_err(local(hearing.dir()))?;
    Ok(superseded)
}

async fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BlobError> {
    let local = |source| BlobError::Local {
        path: path.to_path_buf(),
        source,
    };
    let mut f = tokio::fs::File::create(path).await.map_err(local)?;
    f.write_all(bytes).await.map_err(local)?;
    f.sync_all().await.map_err(local)
}

#[cfg(test)]
mod tests {
    use super::{plain, span};

    #[test]
    fn spans_and_names() {
        assert_eq!(
            span("hearings/h/log/segments/000000000000-000000000012.jsonl"),
            Some((0, 12))
        );
        assert_eq!(
            span("hearings/h/parts/a.webm/000000000100-000000000250"),
            Some((100, 250))
        );
        assert_eq!(span("x/notaspan.jsonl"), None);
        assert!(plain("p1-video.webm"));
        assert!(!plain(".."));
        assert!(!plain(".hidden"));
        assert!(!plain("a/b"));
        assert!(!plain(""));
    }
}
