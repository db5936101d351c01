//! A live Merkle log (the custody log, and a hearing's log at every checkpoint) shipped
//! to object storage as it grows, append-only: each signed checkpoint of size `n` after
//! one of size `m` gives the objects
//!
//! ```text
//! <log key>/segments/<m:012>-<n:012>.jsonl   entries m..n, exactly as stored
//! <log key>/checkpoints/<n:06>.note (+ .tsr when the stamp is there)
//! <log key>/proofs/<n:06>.consistency.json   (when present)
//! ```
//!
//! so the objects only ever grow in number, none is rewritten, and the concatenated
//! segments are the log's entries up to its newest shipped checkpoint. A hearing's log
//! ([`ship_hearing`]) ships, before each segment, what its entries refer to: the media
//! bytes its `media_chunk` entries commit, as
//!
//! ```text
//! hearings/<id>/parts/<file>/<from:012>-<to:012>    bytes from..to of media/<file>
//! <log key>/attestations/<name>                      signed statements
//! ```
//!
//! so a node that restores the hearing (`super::restore`) finds every byte a shipped
//! entry commits. What was shipped is remembered in the log directory (`.segments.json`:
//! size, byte offset, media offsets, attestation files): a crash between an upload and
//! that note uploads the same bytes again, which [`Blobs::put_bytes`] accepts as
//! already present.

use super::{BlobError, Blobs};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Seek as _};
use std::path::Path;

/// The note of what was shipped, in the log directory.
const MARK: &str = ".segments.json";

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Shipped {
    /// Entries shipped (the size of the newest shipped checkpoint).
    pub(super) size: u64,
    /// Bytes of `entries.jsonl` they take.
    pub(super) offset: u64,
    /// Per media file (name under `media/`), the bytes shipped as parts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) media: BTreeMap<String, u64>,
    /// Attestation files shipped (names under `attestations/`).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub(super) attestations: BTreeSet<String>,
}

/// Writes the note of what was shipped (after a restore: what the store holds).
pub(super) fn write_mark(log_dir: &Path, done: &Shipped) -> std::io::Result<()> {
    let mark = serde_json::to_vec(done).map_err(std::io::Error::other)?;
    write_atomic(&log_dir.join(MARK), &mark)
}

/// Ships the checkpoints of the log in `log_dir` signed since the last call (and their
/// entries); returns the log size now covered in the store. Idempotent.
pub async fn ship_log(blobs: &Blobs, log_dir: &Path) -> Result<u64, BlobError> {
    ship(blobs, log_dir, None).await
}

/// [`ship_log`] for a hearing's log, shipping first the media bytes and attestations
/// each segment's entries refer to. Idempotent; never call it from two tasks at once
/// for one hearing.
pub async fn ship_hearing(
    blobs: &Blobs,
    hearing: &crate::paths::HearingPaths,
) -> Result<u64, BlobError> {
    ship(blobs, &hearing.log(), Some(hearing)).await
}

/// The object key of bytes `from..to` of the media file `file` of the hearing whose
/// directory's key is `hearing_key`.
pub(super) fn part_key(hearing_key: &str, file: &str, from: u64, to: u64) -> String {
    format!("{hearing_key}/parts/{file}/{from:012}-{to:012}")
}

async fn ship(
    blobs: &Blobs,
    log_dir: &Path,
    hearing: Option<&crate::paths::HearingPaths>,
) -> Result<u64, BlobError> {
    let Blobs::S3(s3) = blobs else {
        return Ok(0);
    };
    let dir = log_dir.to_path_buf();
    let local = |source| BlobError::Local {
        path: dir.clone(),
        source,
    };
    let mut done: Shipped = std::fs::read(dir.join(MARK))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut sizes: Vec<u64> = std::fs::read_dir(dir.join("checkpoints"))
        .map_err(local)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".note")?.parse::<u64>().ok()
        })
        .filter(|n| *n > done.size)
        .collect();
    sizes.sort_unstable();
    if sizes.is_empty() {
        return Ok(done.size);
    }
    let log_key = s3
        .data_key(&dir)
        .ok_or_else(|| BlobError::OutsideDataDir(dir.clone()))?;
    // Everything after the shipped offset, cut at the last complete line.
    let mut tail = Vec::new();
    {
        let path = dir.join(crate::paths::ENTRIES);
        let mut f = std::fs::File::open(&path).map_err(local)?;
        f.seek(std::io::SeekFrom::Start(done.offset))
            .map_err(local)?;
        f.read_to_end(&mut tail).map_err(local)?;
    }
    let mut at = 0usize;
    for n in sizes {
        // The next n - size lines.
        let mut end = at;
        for _ in done.size..n {
            let Some(nl) = tail[end..].iter().position(|b| *b == b'\n') else {
                return Err(BlobError::Local {
                    path: dir.join(crate::paths::ENTRIES),
                    source: std::io::Error::other(format!(
                        "checkpoint {n} covers entries the log does not hold"
                    )),
                });
            };
            end += nl + 1;
        }
        if let Some(h) = hearing {
            ship_referred(blobs, h, &tail[at..end], &mut done).await?;
        }
        let segment = bytes::Bytes::copy_from_slice(&tail[at..end]);
        blobs
            .put_bytes(
                &format!("{log_key}/segments/{:012}-{n:012}.jsonl", done.size),
                segment,
            )
            .await?;
        for file in [
            format!("checkpoints/{n:06}.note"),
            format!("checkpoints/{n:06}.tsr"),
            format!("proofs/{n:06}.consistency.json"),
        ] {
            let path = dir.join(&file);
            if path.is_file() {
                blobs.put_file(&path).await?;
            }
        }
        done.size = n;
        done.offset += (end - at) as u64;
        at = end;
        write_mark(&dir, &done).map_err(local)?;
    }
    Ok(done.size)
}

/// Ships what the entries in `lines` refer to and the store does not hold yet: the
/// media bytes their `media_chunk` entries commit (one part per file, from what was
/// shipped to the furthest committed byte) and the attestation files on disk.
async fn ship_referred(
    blobs: &Blobs,
    hearing: &crate::paths::HearingPaths,
    lines: &[u8],
    done: &mut Shipped,
) -> Result<(), BlobError> {
    let mut ends: BTreeMap<String, u64> = BTreeMap::new();
    for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if v["type"] != "media_chunk" {
            continue;
        }
        let (Some(file), Some(offset), Some(length)) = (
            v["file"].as_str(),
            v["offset"].as_u64(),
            v["length"].as_u64(),
        ) else {
            continue;
        };
        let end = offset.saturating_add(length);
        let e = ends.entry(file.to_owned()).or_default();
        *e = (*e).max(end);
    }
    let Blobs::S3(s3) = blobs else {
        return Ok(());
    };
    let hearing_key = s3
        .data_key(hearing.dir())
        .ok_or_else(|| BlobError::OutsideDataDir(hearing.dir().to_path_buf()))?;
    for (file, end) in ends {
        // A name from our own log; still, never a path out of media/.
        if file.contains("..") || file.contains('/') || file.starts_with('.') {
            continue;
        }
        let from = done.media.get(&file).copied().unwrap_or(0);
        if end <= from {
            continue;
        }
        let path = hearing.media().join(&file);
        let at = path.clone();
        let bytes = tokio::task::spawn_blocking(move || read_range(&at, from, end))
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r)
            .map_err(|source| BlobError::Local {
                path: path.clone(),
                source,
            })?;
        blobs
            .put_bytes(&part_key(&hearing_key, &file, from, end), bytes.into())
            .await?;
        done.media.insert(file, end);
    }
    let att = hearing.log().join("attestations");
    let mut names: Vec<String> = match std::fs::read_dir(&att) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.') && !done.attestations.contains(n))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    for name in names {
        blobs.put_file(&att.join(&name)).await?;
        done.attestations.insert(name);
    }
    Ok(())
}

/// Bytes `from..to` of `path` (exactly: a shorter file is an error).
fn read_range(path: &Path, from: u64, to: u64) -> std::io::Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    f.seek(std::io::SeekFrom::Start(from))?;
    let mut buf = vec![0; usize::try_from(to - from).map_err(std::io::Error::other)?];
    f.read_exact(&mut buf)?;
    Ok(buf)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
