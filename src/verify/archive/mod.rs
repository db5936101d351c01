//! Evidence records (RFC 4998, `archive/evidence-record.ers`): long-term proof that a
//! sealed bundle's files existed unchanged since the first archive time-stamp, kept
//! alive by time-stamp renewals (same hash algorithm, a new token over the previous
//! token) and hash-tree renewals (a new algorithm over the data and the old record).
//! docs/bundle-format.md §14 is the normative description.
//!
//! Owns: the DER of the record ([`record`]: parse, and encode for the producer), the
//! hash rules ([`tree`]: leaves, reduced hash trees, renewal inputs) and the check of a
//! whole record against the data objects' digests ([`check`]), which yields the
//! [`ArchiveSummary`] "continuously protected since …".
//!
//! Pure like the rest of `verify/`: digests of the data come in, token checks go
//! through a caller's function. Must never read a file, the network or the clock, accept
//! an algorithm outside SHA-256/384/512, or panic on any input.

pub mod check;
pub mod record;
pub mod tree;

use serde::Serialize;

pub use check::{DataObject, StampCheck, StampTime, verify_record};
pub use record::{ArchiveTimeStamp, AtsChain, EvidenceRecord, parse};

/// The evidence record inside a bundle.
pub const RECORD_PATH: &str = "archive/evidence-record.ers";
/// The directory of the record and its TSA chains; not listed by the manifest.
pub const ARCHIVE_DIR: &str = "archive/";

/// True for paths under `archive/` (not listed by the manifest).
pub fn is_archive(path: &str) -> bool {
    path.starts_with(ARCHIVE_DIR)
}

/// True for the data objects of the evidence record: every file of the sealed bundle,
/// i.e. every file but `archive/**` and an export's `custody/**`.
pub fn is_data_object(path: &str) -> bool {
    !is_archive(path) && !path.starts_with("custody/")
}

/// Path of the PEM chain of the `n`-th (1-based) archive time-stamp of the record.
pub fn chain_path(n: usize) -> String {
    format!("archive/tsa-{n:02}.pem")
}

/// The number `n` of an `archive/tsa-NN.pem` path (at least two digits, no sign, no
/// superfluous leading zero beyond the padding), or `None`.
pub fn chain_number(path: &str) -> Option<usize> {
    let digits = path.strip_prefix("archive/tsa-")?.strip_suffix(".pem")?;
    let n: usize = digits.parse().ok()?;
    (digits.bytes().all(|b| b.is_ascii_digit()) && n >= 1 && chain_path(n) == path).then_some(n)
}

/// How a later archive time-stamp renews the one before it (RFC 4998 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewalKind {
    /// §5.2: a new token over the previous token, same hash algorithm, same chain.
    Timestamp,
    /// §5.3: a new chain, a new hash algorithm over the data and the previous chains.
    HashTree,
}

/// One renewal as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveRenewal {
    /// Time-stamp or hash-tree renewal.
    pub kind: RenewalKind,
    /// Hash algorithm of the new archive time-stamp (`sha256`, `sha384`, `sha512`).
    pub algorithm: String,
    /// genTime of its token.
    pub gen_time: String,
}

/// What a valid evidence record proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveSummary {
    /// genTime of the first archive time-stamp: the files have been continuously
    /// protected since then.
    pub protected_since: String,
    /// Hash algorithm of the first archive time-stamp.
    pub algorithm: String,
    /// Every renewal, in order.
    pub renewals: Vec<ArchiveRenewal>,
    /// notAfter of the last token's TSA certificate: the record must be renewed before.
    pub renew_before: String,
}

impl ArchiveSummary {
    /// One line: `continuously protected since … (sha256); renewed …; renew before …`.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "continuously protected since {} ({})",
            self.protected_since, self.algorithm
        );
        for r in &self.renewals {
            let kind = match r.kind {
                RenewalKind::Timestamp => "time-stamp",
                RenewalKind::HashTree => "hash-tree",
            };
            out.push_str(&format!("; {kind} renewal {} {}", r.algorithm, r.gen_time));
        }
        out.push_str(&format!("; renew before {}", self.renew_before));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_paths_round_trip_and_odd_names_are_refused() {
        assert_eq!(chain_path(1), "archive/tsa-01.pem");
        assert_eq!(chain_path(123), "archive/tsa-123.pem");
        assert_eq!(chain_number("archive/tsa-01.pem"), Some(1));
        assert_eq!(chain_number("archive/tsa-123.pem"), Some(123));
        for bad in [
            "archive/tsa-1.pem",
            "archive/tsa-00.pem",
            "archive/tsa-001.pem",
            "archive/tsa-+1.pem",
            "archive/tsa-01.pem.bak",
            "archive/x.pem",
        ] {
            assert_eq!(chain_number(bad), None, "{bad}");
        }
    }
}
