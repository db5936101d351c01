//! Pure verification of sworn evidence: bytes and trusted keys in, a report of named
//! checks out. No tokio, no filesystem, no network, no clock.

pub mod timestamp;
