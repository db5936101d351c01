//! Producing and renewing a sealed bundle's evidence record (RFC 4998,
//! docs/bundle-format.md §12): [`create`] makes the first archive time-stamp over every
//! file of the sealed bundle (at sealing, or later when the TSA was down then), and
//! [`renew`] adds a time-stamp renewal (same hash algorithm) or a hash-tree renewal (a
//! new one). Both write only under `<bundle>/archive/`; the sealed files never change.
//!
//! Must never: renew a record that does not verify, renew after the last token's TSA
//! certificate has expired (the protection would have a gap), rewrite the stored
//! chains or tokens (new bytes are appended around the stored ones), or leave a
//! half-written record (it is written beside the bundle and renamed into place).

use std::fs;
use std::path::{Path, PathBuf};

use super::tsa::{TimeStamper, TsaError};
use crate::verify::archive::record::{encode_chain, encode_record, encode_stamp};
use crate::verify::archive::{
    self, ArchiveSummary, RECORD_PATH, RenewalKind, chain_path, is_data_object, tree,
};
use crate::verify::bundle::{BundleSource, Rfc3161Checker, VerifyOptions, verify_bundle};
use crate::verify::hash_alg::HashAlg;
use crate::verify::report::{Status, Verdict};
use crate::verify_cli::DirSource;

/// A renewal closer than this to the previous token's TSA certificate's expiry is
/// reported with a warning (the next one must not be missed).
pub const NEAR_EXPIRY_SECS: i64 = 90 * 86_400;

/// Why a record could not be made or renewed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    #[error("evidence record I/O ({what}): {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the bundle: {0}")]
    Open(String),
    #[error("the bundle already has an evidence record (use `sworn archive renew`)")]
    Exists,
    #[error("the bundle does not verify, so it is not time-stamped: {0}")]
    BundleInvalid(String),
    #[error(
        "the last archive time-stamp's TSA certificate expired at {expired}: RFC 4998 §5 \
         renewals must come before that, so this record can no longer be renewed without a \
         gap in its protection (it still proves the bundle up to {expired})"
    )]
    Expired { expired: String },
    #[error("time-stamping failed: {0}")]
    Tsa(#[from] TsaError),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ArchiveError {
    let what = what.into();
    move |source| ArchiveError::Io { what, source }
}

/// Where the tokens come from: `sworn`'s [`TimeStamper`] (built-in or external TSA).
pub trait DigestStamper {
    /// A verified token over `digest` (imprint algorithm `alg`).
    fn stamp_digest(&self, alg: HashAlg, digest: &[u8]) -> Result<Vec<u8>, TsaError>;
    /// The PEM chain the token verifies under (root included).
    fn chain_pem(&self) -> String;
}

impl DigestStamper for TimeStamper {
    fn stamp_digest(&self, alg: HashAlg, digest: &[u8]) -> Result<Vec<u8>, TsaError> {
        TimeStamper::stamp_digest(self, alg, digest)
    }
    fn chain_pem(&self) -> String {
        TimeStamper::chain_pem(self)
    }
}

/// What was done.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `None`: the first archive time-stamp; else the renewal made.
    pub renewal: Option<RenewalKind>,
    /// What the record proves now.
    pub summary: ArchiveSummary,
    /// Things the operator should know (a renewal made close to an expiry).
    pub warnings: Vec<String>,
}

/// Makes the first archive time-stamp of the sealed bundle `dir` over all its files,
/// hashed with `alg`. The bundle is not verified first (the caller just wrote it, or
/// [`renew`] verified it).
pub fn create(
    dir: &Path,
    stamper: &dyn DigestStamper,
    alg: HashAlg,
) -> Result<Outcome, ArchiveError> {
    if dir.join("archive").exists() {
        return Err(ArchiveError::Exists);
    }
    let leaves: Vec<Vec<u8>> = data_digests(dir, alg)?
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    let mut sorted = leaves.clone();
    sorted.sort();
    let refs: Vec<&[u8]> = sorted.iter().map(Vec::as_slice).collect();
    let root = tree::list_hash(alg, &refs);
    let token = stamper.stamp_digest(alg, &root)?;
    let stamp = encode_stamp(alg, Some(&[sorted]), &token);
    let chain = encode_chain(&[&stamp]);
    let record = encode_record(&[alg], &[&chain]);
    write_record(dir, &record, 1, &stamper.chain_pem())?;
    let summary = check(dir)?;
    Ok(Outcome {
        renewal: None,
        summary,
        warnings: Vec::new(),
    })
}

/// Renews the evidence record of the sealed bundle `dir` with `alg`: a time-stamp
/// renewal when `alg` is the last chain's algorithm, else a hash-tree renewal. A bundle
/// without a record gets its first archive time-stamp. The bundle (record included)
/// must verify first; `now_unix` is the time the renewal is made.
pub fn renew(
    dir: &Path,
    stamper: &dyn DigestStamper,
    alg: HashAlg,
    now_unix: i64,
) -> Result<Outcome, ArchiveError> {
    let before = check_bundle(dir)?;
    let Some(before) = before else {
        return create(dir, stamper, alg);
    };
    let expires = unix_of(&before.renew_before)?;
    if now_unix > expires {
        return Err(ArchiveError::Expired {
            expired: before.renew_before,
        });
    }
    let mut warnings = Vec::new();
    if expires - now_unix < NEAR_EXPIRY_SECS {
        warnings.push(format!(
            "the previous archive time-stamp's TSA certificate expires at {}: renewed just in time",
            before.renew_before
        ));
    }
    let bytes = fs::read(dir.join(RECORD_PATH)).map_err(io(RECORD_PATH))?;
    let rec = archive::parse(&bytes).map_err(|e| ArchiveError::BundleInvalid(e.to_string()))?;
    let chains = rec.chains_raw();
    let Some(last) = rec.chains.last() else {
        return Err(ArchiveError::BundleInvalid("no archive time-stamp".into()));
    };
    let last_alg = last.stamps.first().map(|s| s.alg);
    let mut algs = rec.digest_algorithms.clone();
    let (new_chains, kind) = if last_alg == Some(alg) {
        // §5.2: a new archive time-stamp over the previous token, in the same chain.
        let Some(prev) = last.stamps.last() else {
            return Err(ArchiveError::BundleInvalid("empty chain".into()));
        };
        let token = stamper.stamp_digest(alg, &tree::timestamp_leaf(alg, prev.time_stamp))?;
        let stamp = encode_stamp(alg, None, &token);
        let mut stamps: Vec<&[u8]> = last.stamps.iter().map(|s| s.raw).collect();
        stamps.push(&stamp);
        let mut out: Vec<Vec<u8>> = chains
            .iter()
            .take(chains.len() - 1)
            .map(|c| c.to_vec())
            .collect();
        out.push(encode_chain(&stamps));
        (out, RenewalKind::Timestamp)
    } else {
        // §5.3: a new chain over H(H(d) ‖ H(atsc)) for every data object.
        let seq = tree::sequence_digest(alg, &chains);
        let mut leaves: Vec<Vec<u8>> = data_digests(dir, alg)?
            .into_iter()
            .map(|(_, d)| tree::data_leaf(alg, &d, Some(&seq)))
            .collect();
        leaves.sort();
        let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
        let token = stamper.stamp_digest(alg, &tree::list_hash(alg, &refs))?;
        let stamp = encode_stamp(alg, Some(&[leaves]), &token);
        let mut out: Vec<Vec<u8>> = chains.iter().map(|c| c.to_vec()).collect();
        out.push(encode_chain(&[&stamp]));
        if !algs.contains(&alg) {
            algs.push(alg);
        }
        (out, RenewalKind::HashTree)
    };
    let refs: Vec<&[u8]> = new_chains.iter().map(Vec::as_slice).collect();
    let record = encode_record(&algs, &refs);
    write_record(dir, &record, rec.stamp_count() + 1, &stamper.chain_pem())?;
    let summary = check(dir)?;
    Ok(Outcome {
        renewal: Some(kind),
        summary,
        warnings,
    })
}

/// Verifies the whole bundle (its own key, its own TSA chains): `Some(summary)` when it
/// has a valid record, `None` when it has none.
pub fn check_bundle(dir: &Path) -> Result<Option<ArchiveSummary>, ArchiveError> {
    let src = DirSource::open(dir).map_err(|e| ArchiveError::Open(e.to_string()))?;
    let opts = VerifyOptions {
        trusted_key: None,
        timestamps: Some(&Rfc3161Checker),
        trusted_tsa_chain: None,
    };
    let report = verify_bundle(&src, &opts);
    if report.verdict == Verdict::Invalid {
        let failed: Vec<String> = report
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        return Err(ArchiveError::BundleInvalid(failed.join("; ")));
    }
    Ok(report.archive)
}

/// The record's summary after writing it (must verify: the tokens were checked).
fn check(dir: &Path) -> Result<ArchiveSummary, ArchiveError> {
    check_bundle(dir)?.ok_or_else(|| ArchiveError::BundleInvalid("no evidence record".into()))
}

/// (path, digest under `alg`) of every data object of the bundle, path order.
fn data_digests(dir: &Path, alg: HashAlg) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
    let src = DirSource::open(dir).map_err(|e| ArchiveError::Open(e.to_string()))?;
    let mut out = Vec::new();
    for path in src.paths().into_iter().filter(|p| is_data_object(p)) {
        let len = src.file_len(&path).map_err(ArchiveError::Open)?;
        let mut h = alg.hasher();
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(1 << 20);
            h.update(&src.read_range(&path, done, n).map_err(ArchiveError::Open)?);
            done += n;
        }
        out.push((path, h.finish()));
    }
    Ok(out)
}

/// Writes `archive/tsa-NN.pem` (NN = `number`) and then the record, through a file
/// beside the bundle renamed into place.
fn write_record(dir: &Path, record: &[u8], number: usize, chain: &str) -> Result<(), ArchiveError> {
    let archive_dir = dir.join("archive");
    fs::create_dir_all(&archive_dir).map_err(io("archive/"))?;
    let chain_file = dir.join(chain_path(number));
    fs::write(&chain_file, chain).map_err(io(chain_path(number)))?;
    let tmp = temp_path(dir);
    fs::write(&tmp, record).map_err(io("evidence record (temporary)"))?;
    fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io("evidence record (sync)"))?;
    fs::rename(&tmp, dir.join(RECORD_PATH)).map_err(io(RECORD_PATH))?;
    Ok(())
}

fn temp_path(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".ers-tmp");
    dir.with_file_name(name)
}

fn unix_of(rfc3339: &str) -> Result<i64, ArchiveError> {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| ArchiveError::BundleInvalid(format!("unreadable time {rfc3339}")))
}
