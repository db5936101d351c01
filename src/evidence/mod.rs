//! Producing side of the evidence record: the server key, the durable Merkle log with
//! signed checkpoints and crash recovery, minutes, and the bundle writer. RFC 3161 time-stamping
//! lives in `tsa`.
//!
//! Synchronous std code; it must never depend on an async runtime.

pub mod archive;
pub mod bundle;
pub mod convert;
mod fsutil;
pub mod key_rotation;
pub mod keys;
pub mod log;
pub mod minutes;
mod minutes_rights;
pub mod minutes_text;
pub mod quality_svg;
pub mod report_cache;
pub mod tsa;

pub use bundle::{BundleError, BundleInfo, ExtraFile, ExtraSource, write_bundle};
pub use keys::{KeyFileError, ServerKey};
pub use log::{HearingLog, LogError, Recovery, SignedCheckpoint};
