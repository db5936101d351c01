//! Pure verification of sworn evidence: bytes and trusted keys in, a report of named
//! checks out. Also the pure primitives the producer shares (canonical JSON, entries,
//! Merkle hashing, signed notes, key encodings).
//!
//! Must never touch the filesystem, the network, the clock or an async runtime.

pub mod archive;
pub mod attestation;
pub mod bundle;
pub mod canonical;
pub mod clock;
pub mod countries;
pub mod entry;
pub mod error;
pub mod hash_alg;
pub mod key_history;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod report;
pub mod timestamp;
pub mod zip_index;

pub use bundle::{BundleSource, MemorySource, TimestampVerifier, VerifyOptions, verify_bundle};
pub use error::{CODES, VerifyError};
pub use report::{Check, Report, Status, Verdict};
