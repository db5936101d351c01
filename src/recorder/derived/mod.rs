//! Derived viewing copies made after a hearing from the evidence recordings: a seekable
//! stream-copy remux of each participant's files ([`remux_seekable`]) and a labelled
//! side-by-side composite with a burnt-in UTC clock ([`composite`]).
//!
//! Use (integrator): call them on a blocking thread (`spawn_blocking`) once the
//! recorders have sealed their files; log each returned [`DerivedInfo`] as a "derived
//! file" entry. `composite` reports progress (0..=1) through its callback. The plain
//! forms place a participant's files back to back (rotations of one connection); the
//! `_placed` forms ([`remux_seekable_placed`], [`composite_placed`]) put each file at
//! its own wall-clock start (take it from the file's first `RecorderEvent::Chunk`:
//! `wall_start - media_start_ms`), so the time between two connections stays a gap.
//!
//! Never writes to, renames or deletes an evidence file (they are only opened for
//! reading), never overwrites an existing output (fails instead), never transcodes in
//! the remux. The only `unsafe` is in `ffi`.

mod composite;
mod encode;
mod ffi;
mod graph;
mod lanes;
mod remux;
mod scan;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

pub use composite::{composite, composite_placed};
pub use remux::{remux_seekable, remux_seekable_placed};

/// Most participants a composite tiles (3x3).
pub const MAX_TILES: usize = 9;

/// One participant of a composite.
#[derive(Debug, Clone)]
pub struct CompositeInput {
    /// The participant's recording files in order (rotations placed back to back).
    pub files: Vec<PathBuf>,
    /// Text shown on the tile, e.g. "Name — witness".
    pub label: String,
    /// Wall clock of media time 0 of the first file.
    pub start: SystemTime,
}

/// A recording file with the wall clock of its media time 0 (from its first
/// `RecorderEvent::Chunk`: `wall_start - media_start_ms`).
#[derive(Debug, Clone)]
pub struct PlacedFile {
    /// The recording file.
    pub path: PathBuf,
    /// Wall clock of its media time 0.
    pub start: SystemTime,
}

/// One participant of a composite whose files carry their own start times (several
/// connections, with gaps between them).
#[derive(Debug, Clone)]
pub struct PlacedInput {
    /// The participant's recording files in order.
    pub files: Vec<PlacedFile>,
    /// Text shown on the tile.
    pub label: String,
}

/// A derived file as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedInfo {
    /// Where it was written.
    pub path: PathBuf,
    /// SHA-256 of the whole file as re-read from disk.
    pub sha256: [u8; 32],
    /// Length in bytes.
    pub length: u64,
    /// Media duration in ms.
    pub duration_ms: u64,
}

/// Why a derived copy could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DerivedError {
    /// No input file or participant was given.
    #[error("no input given")]
    NoInputs,
    /// More participants than the composite can tile.
    #[error("{0} participants given, at most {MAX_TILES} can be tiled")]
    TooManyInputs(usize),
    /// The output path already exists.
    #[error("output already exists")]
    OutputExists,
    /// The input files cannot be combined into one copy.
    #[error("input files are incompatible: {0}")]
    Incompatible(&'static str),
    /// The FFmpeg build lacks an encoder, filter or font this needs.
    #[error("missing media component: {0}")]
    Missing(&'static str),
    /// FFmpeg refused an operation.
    #[error("media processing failed ({context}): {message}")]
    Ffmpeg {
        /// What was being done.
        context: &'static str,
        /// FFmpeg's error text.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("derived file i/o failed ({context}): {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Milliseconds since the Unix epoch (negative before it, saturating).
pub(crate) fn ms_since_epoch(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |v| -v),
    }
}

pub(crate) fn io_err(context: &'static str) -> impl Fn(std::io::Error) -> DerivedError {
    move |source| DerivedError::Io { context, source }
}

/// Fails if `out` exists; derived copies never replace a file.
pub(crate) fn check_new(out: &Path) -> Result<(), DerivedError> {
    match std::fs::symlink_metadata(out) {
        Ok(_) => Err(DerivedError::OutputExists),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DerivedError::Io {
            context: "check output",
            source: e,
        }),
    }
}

/// Hashes the finished output as stored and builds its [`DerivedInfo`].
pub(crate) fn info(path: &Path, duration_ms: u64) -> Result<DerivedInfo, DerivedError> {
    let mut f = File::open(path).map_err(io_err("reopen output"))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut length = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io_err("read output"))?;
        let Some(bytes) = buf.get(..n) else { break };
        if n == 0 {
            break;
        }
        h.update(bytes);
        length += n as u64;
    }
    Ok(DerivedInfo {
        path: path.to_path_buf(),
        sha256: h.finalize().into(),
        length,
        duration_ms,
    })
}
