//! A live Merkle log (the custody log; a hearing's log, later, at every checkpoint)
//! shipped to object storage as it grows, append-only: each signed checkpoint of size
//! `n` after one of size `m` gives the objects
//!
//! ```text
//! <log key>/segments/<m:012>-<n:012>.jsonl   entries m..n, exactly as stored
//! <log key>/checkpoints/<n:06>.note (+ .tsr when the stamp is there)
//! <log key>/proofs/<n:06>.consistency.json   (when present)
//! ```
//!
//! so the objects only ever grow in number, none is rewritten, and the concatenated
//! segments are the log's entries up to its newest shipped checkpoint. What was shipped
//! is remembered in the log directory (`.segments.json`: size and byte offset): a crash
//! between an upload and that note uploads the same bytes again, which
//! [`Blobs::put_bytes`] accepts as already present.

use super::{BlobError, Blobs};
use std::io::{Read as _, Seek as _};
use std::path::Path;

/// The note of what was shipped, in the log directory.
const MARK: &str = ".segments.json";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Shipped {
    /// Entries shipped (the size of the newest shipped checkpoint).
    size: u64,
    /// Bytes of `entries.jsonl` they take.
    offset: u64,
}

/// Ships the checkpoints of the log in `log_dir` signed since the last call (and their
/// entries); returns the log size now covered in the store. Idempotent.
pub async fn ship_log(blobs: &Blobs, log_dir: &Path) -> Result<u64, BlobError> {
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
        done = Shipped {
            size: n,
            offset: done.offset + (end - at) as u64,
        };
        at = end;
        let mark = serde_json::to_vec(&done).map_err(|e| BlobError::Settings(e.to_string()))?;
        write_atomic(&dir.join(MARK), &mark).map_err(local)?;
    }
    Ok(done.size)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
