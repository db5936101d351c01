//! The data directory's lock: an exclusive, non-blocking `flock(2)` on
//! `<data dir>/sworn.lock`, held by the server for its lifetime and taken by commands that
//! must not run beside it (`sworn key rotate`). The kernel releases it when the process
//! ends, however it ends, so a crash never leaves a stale lock.
//!
//! (`std::fs::File::try_lock` does this from Rust 1.89; the crate's MSRV is 1.85.)
#![allow(unsafe_code)]

use std::fs::File;
use std::os::fd::AsRawFd as _;
use std::path::Path;

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another process holds it.
    #[error("another sworn process uses the data directory (stop the server first)")]
    Held,
    /// The lock file could not be opened.
    #[error("cannot open the data directory lock: {0}")]
    Io(#[from] std::io::Error),
}

/// Takes the lock of `dir` (created if missing); held until the file is dropped.
pub fn lock(dir: &Path) -> Result<File, LockError> {
    std::fs::create_dir_all(dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("sworn.lock"))?;
    // SAFETY: flock only reads the descriptor, which `file` owns and keeps open for the
    // duration of the call; no memory is shared with the kernel.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(file);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Err(LockError::Held)
    } else {
        Err(LockError::Io(e))
    }
}
