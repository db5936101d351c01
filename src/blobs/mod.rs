//! Object storage for sealed files: media files, hearing logs and sealed bundles, once
//! they no longer change, are copied to an S3-compatible store (`storage.url =
//! "s3://bucket/prefix"`), verified there by SHA-256, and read back from it (with byte
//! ranges) when the local copy is gone. Without `[storage]` the data directory itself is
//! the store and nothing is copied ([`Blobs::Local`], the default).
//!
//! Keys mirror the data directory (`crate::paths::DataPaths::key_of`):
//! `<prefix>/hearings/<id>/bundle.zip` is `<data_dir>/hearings/<id>/bundle.zip`.
//!
//! What it guarantees: an object is never overwritten. [`Blobs::put_file`] and
//! [`Blobs::put_bytes`] are idempotent: an object already holding the same bytes is
//! left alone (`Stored::AlreadyPresent`), one holding other bytes is refused
//! ([`BlobError::Conflict`]), and a new object is read back after the upload and its
//! SHA-256 compared with the local bytes' ([`BlobError::Mismatch`]). The write is
//! sent with `If-None-Match: *` (S3 refuses to replace an object then) and
//! `x-amz-checksum-sha256` (the server checks the body); Garage 2.5 ignores the first,
//! so the check before the upload is what keeps it from overwriting there (one node
//! writes a hearing's keys: a race between two writers of one key is not defended).
//!
//! It must never log or print a secret (the secret key lives only inside the client),
//! and never delete an object.

mod restore;
mod s3;
mod segments;

pub use restore::{Restored, restore_hearing, restore_sealed};
pub use s3::S3Blobs;
pub use segments::{ship_hearing, ship_log};

use crate::config::StorageConfig;
use crate::paths::DataPaths;
use futures_util::stream::BoxStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    #[error(
        "object storage refused the credentials (check storage.access_key_id and storage.secret_access_key_file) at {key}"
    )]
    Credentials { key: String },
    #[error(
        "object {key} already exists with other content: archived objects are never overwritten"
    )]
    Conflict { key: String },
    #[error(
        "object {key} read back after upload does not match: SHA-256 {expected} sent, {found} stored"
    )]
    Mismatch {
        key: String,
        expected: String,
        found: String,
    },
    #[error("object {key} not found")]
    NotFound { key: String },
    #[error("object storage, {key}: {message}")]
    Store { key: String, message: String },
    #[error("cannot read {path}: {source}")]
    Local {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not a file of the data directory")]
    OutsideDataDir(PathBuf),
    #[error("object storage settings: {0}")]
    Settings(String),
}

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The object was written and read back intact.
    Uploaded,
    /// An object with the same bytes was already there (a repeated or resumed upload).
    AlreadyPresent,
    /// The data directory is the store: nothing to copy.
    Local,
}

/// A stream of an object's bytes.
pub type ByteStream = BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// Where sealed files are kept.
#[derive(Debug)]
pub enum Blobs {
    /// The data directory itself (the default): files are read where they were written.
    Local(DataPaths),
    /// An S3-compatible bucket, besides the data directory.
    S3(S3Blobs),
}

impl Blobs {
    /// The store `storage` names, for the data directory `data`. Makes no request.
    pub fn open(storage: &StorageConfig, data: &DataPaths) -> Result<Blobs, BlobError> {
        Ok(match storage {
            StorageConfig::Local => Blobs::Local(data.clone()),
            StorageConfig::S3(s) => Blobs::S3(S3Blobs::new(s, data.clone())?),
        })
    }

    /// Whether sealed files are copied anywhere (`false`: the data directory only).
    pub fn is_remote(&self) -> bool {
        matches!(self, Blobs::S3(_))
    }

    /// One request that the store answers with these credentials (a start-up check):
    /// refused credentials are [`BlobError::Credentials`].
    pub async fn check(&self) -> Result<(), BlobError> {
        match self {
            Blobs::Local(_) => Ok(()),
            Blobs::S3(s) => s.check().await,
        }
    }

    /// Copies the sealed file `path` (under the data directory) to its key, verified;
    /// idempotent. Never call it on a file that may still grow.
    pub async fn put_file(&self, path: &Path) -> Result<Stored, BlobError> {
        match self {
            Blobs::Local(_) => Ok(Stored::Local),
            Blobs::S3(s) => s.put_file(path).await,
        }
    }

    /// Writes `bytes` under `key` (relative to the data directory's root), verified;
    /// idempotent; an existing object with other bytes is refused.
    pub async fn put_bytes(&self, key: &str, bytes: bytes::Bytes) -> Result<Stored, BlobError> {
        match self {
            Blobs::Local(_) => Ok(Stored::Local),
            Blobs::S3(s) => s.put_bytes(key, bytes).await,
        }
    }

    /// The length of the archived copy of `path`, `None` if there is none (always
    /// `None` for the data directory: its files are read in place).
    pub async fn len(&self, path: &Path) -> Result<Option<u64>, BlobError> {
        match self {
            Blobs::Local(_) => Ok(None),
            Blobs::S3(s) => s.len(&s.key_of(path)?).await,
        }
    }

    /// Bytes `start..=end` of the archived copy of `path`, streamed.
    pub async fn range(&self, path: &Path, start: u64, end: u64) -> Result<ByteStream, BlobError> {
        match self {
            Blobs::Local(_) => Err(BlobError::NotFound {
                key: path.display().to_string(),
            }),
            Blobs::S3(s) => s.range(&s.key_of(path)?, start, end).await,
        }
    }

    /// The SHA-256 of the object at `key` (relative to the data directory's root), read
    /// in full.
    pub async fn sha256(&self, key: &str) -> Result<[u8; 32], BlobError> {
        match self {
            Blobs::Local(d) => {
                let path = d.root().join(key);
                if d.key_of(&path).as_deref() != Some(key) {
                    return Err(BlobError::OutsideDataDir(path));
                }
                tokio::task::spawn_blocking(move || s3::sha256_file(&path))
                    .await
                    .map_err(|e| BlobError::Store {
                        key: key.to_owned(),
                        message: e.to_string(),
                    })?
            }
            Blobs::S3(s) => s.sha256(&s.full_key(key)?).await,
        }
    }

    /// A blocking `Read + Seek` over the archived copy of `path` (`len` bytes), for code
    /// that runs on a blocking thread and reads a few ranges (a zip's central
    /// directory). Each read is one ranged request.
    pub fn reader(self: &Arc<Self>, path: &Path, len: u64) -> Result<RangeReader, BlobError> {
        Ok(RangeReader {
            blobs: self.clone(),
            path: path.to_path_buf(),
            len,
            pos: 0,
            runtime: tokio::runtime::Handle::try_current().map_err(|e| BlobError::Store {
                key: path.display().to_string(),
                message: e.to_string(),
            })?,
        })
    }
}

/// See [`Blobs::reader`].
pub struct RangeReader {
    blobs: Arc<Blobs>,
    path: PathBuf,
    len: u64,
    pos: u64,
    runtime: tokio::runtime::Handle,
}

impl std::io::Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        let end = (self.pos + buf.len() as u64).min(self.len) - 1;
        let (blobs, path, start) = (self.blobs.clone(), self.path.clone(), self.pos);
        let bytes = self.runtime.block_on(async move {
            use futures_util::TryStreamExt as _;
            let stream = blobs
                .range(&path, start, end)
                .await
                .map_err(std::io::Error::other)?;
            let parts: Vec<bytes::Bytes> = stream.try_collect().await?;
            Ok::<_, std::io::Error>(parts.concat())
        })?;
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for RangeReader {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let pos = match to {
            std::io::SeekFrom::Start(p) => Some(p),
            std::io::SeekFrom::End(d) => self.len.checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| std::io::Error::other("seek out of range"))?;
        Ok(self.pos)
    }
}

/// `hearings/<id>/objects.json`, written once every sealed file of the hearing is in the
/// store: `{"store": "s3://bucket/prefix", "files": N}`. A sealed hearing without it
/// (the store was down at seal) is archived again at the next start.
pub const SHIPPED_MARKER: &str = "objects.json";

/// Whether `hearing`'s sealed files are all in this store already (its marker names
/// it).
pub fn shipped(blobs: &Blobs, hearing: &crate::paths::HearingPaths) -> bool {
    let Blobs::S3(s) = blobs else {
        return true;
    };
    std::fs::read(hearing.dir().join(SHIPPED_MARKER))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v["store"] == s.label())
}

/// [`ship_sealed_hearing`], its outcome logged, its marker written; never fails (a
/// hearing left without its marker is shipped again at the next start).
pub async fn ship_and_log(blobs: &Blobs, hearing: &crate::paths::HearingPaths) {
    let Blobs::S3(s) = blobs else {
        return;
    };
    let started = std::time::Instant::now();
    match ship_sealed_hearing(blobs, hearing).await {
        Ok((uploaded, present)) => {
            tracing::info!(
                uploaded,
                present,
                ms = started.elapsed().as_millis() as u64,
                "sealed files archived to object storage"
            );
            let marker = serde_json::json!({"store": s.label(), "files": uploaded + present});
            if let Err(e) = std::fs::write(
                hearing.dir().join(SHIPPED_MARKER),
                marker.to_string().as_bytes(),
            ) {
                tracing::warn!(error = %e, "archive marker not written");
            }
        }
        Err(e) => tracing::warn!(
            error = %e,
            "sealed files not archived to object storage; retried at the next start"
        ),
    }
}

/// Copies a sealed hearing's files (`hearings/<id>/`: media, log, derived copies, the
/// bundle directory and `bundle.zip`) to the store; idempotent, so a failed run is
/// simply run again. Left out: what still changes after sealing (the bundle's RFC 4998
/// `archive/` directory, renewed for decades, and the cached `bundle.report.json`) and
/// temporary files (a name starting with `.`). `bundle.zip` goes last: its presence
/// says the rest is there. Returns how many files were uploaded and how many were
/// already there.
pub async fn ship_sealed_hearing(
    blobs: &Blobs,
    hearing: &crate::paths::HearingPaths,
) -> Result<(usize, usize), BlobError> {
    if !blobs.is_remote() {
        return Ok((0, 0));
    }
    let root = hearing.dir().to_path_buf();
    let zip = hearing.bundle_zip();
    let skip = [
        hearing.bundle().join("archive"),
        root.join("bundle.report.json"),
        root.join(SHIPPED_MARKER),
    ];
    let files = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        walk(&root, &skip, &mut out).map(|()| out)
    })
    .await
    .map_err(|e| BlobError::Settings(e.to_string()))??;
    let (mut uploaded, mut present) = (0, 0);
    let mut ordered: Vec<PathBuf> = files.into_iter().filter(|p| *p != zip).collect();
    ordered.sort();
    if zip.is_file() {
        ordered.push(zip);
    }
    for path in ordered {
        match blobs.put_file(&path).await? {
            Stored::Uploaded => uploaded += 1,
            Stored::AlreadyPresent | Stored::Local => present += 1,
        }
    }
    Ok((uploaded, present))
}

/// Regular files under `dir` (symlinks and `skip` left out), recursively.
fn walk(dir: &Path, skip: &[PathBuf], out: &mut Vec<PathBuf>) -> Result<(), BlobError> {
    let local = |source| BlobError::Local {
        path: dir.to_path_buf(),
        source,
    };
    for e in std::fs::read_dir(dir).map_err(local)? {
        let e = e.map_err(local)?;
        let path = e.path();
        let hidden = e.file_name().to_str().is_none_or(|n| n.starts_with('.'));
        if hidden || skip.contains(&path) {
            continue;
        }
        let kind = e.file_type().map_err(local)?;
        if kind.is_dir() {
            walk(&path, skip, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}
