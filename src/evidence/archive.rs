//! Producing and renewing a sealed bundle's evidence record (RFC 4998,
//! docs/bundle-format.md §14): [`create`] makes the first archive time-stamp over every
//! file of the sealed bundle (at sealing, or later when the TSA was down then), and
//! [`renew`] adds a time-stamp renewal (same hash algorithm) or a hash-tree renewal (a
//! new one). Both write only under `<bundle>/archive/`; the sealed files never change.
//!
//! Must never: renew a record that does not verify or write one that would not (the new
//! record is verified in memory first), renew after the last token's TSA certificate
//! has expired (the protection would have a gap), rewrite the stored chains or tokens
//! (new bytes are appended around the stored ones), or leave a half-written record (it
//! is written beside the bundle and renamed into place). [`prepare_renewal`] and
//! [`commit`] are the unchecked steps, for tests that need a record which is wrong.

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
use crate::verify::timestamp::{TokenInfo, verify_token_digest};
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

/// A new record, stamped but not yet written: [`commit`] writes it.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The whole new `archive/evidence-record.ers`.
    pub record: Vec<u8>,
    /// Number of the new archive time-stamp (its chain is `archive/tsa-NN.pem`).
    pub number: usize,
    /// The new token's TSA chain.
    pub chain_pem: String,
    /// `None` for the first archive time-stamp.
    pub renewal: Option<RenewalKind>,
    /// The new token, verified over its root with `chain_pem`.
    pub token: TokenInfo,
}

/// Makes the first archive time-stamp of the sealed bundle `dir` over all its files,
/// hashed with `alg`, and writes it. The bundle is not verified first (the caller just
/// wrote it, or [`renew`] verified it); the new token is.
pub fn create(
    dir: &Path,
    stamper: &dyn DigestStamper,
    alg: HashAlg,
) -> Result<Outcome, ArchiveError> {
    if dir.join("archive").exists() {
        return Err(ArchiveError::Exists);
    }
    let p = prepare_first(dir, stamper, alg)?;
    commit(dir, &p)?;
    Ok(Outcome {
        renewal: None,
        summary: ArchiveSummary {
            protected_since: p.token.gen_time.clone(),
            algorithm: alg.name().into(),
            renewals: Vec::new(),
            renew_before: p.token.signer_not_after.clone(),
        },
        warnings: Vec::new(),
    })
}

/// Renews the evidence record of the sealed bundle `dir` with `alg`: a time-stamp
/// renewal when `alg` is the last chain's algorithm, else a hash-tree renewal. A bundle
/// without a record gets its first archive time-stamp. The bundle (record included)
/// must verify before, and with the new record before it is written; `now_unix` is the
/// time the renewal is made. On any error nothing is written.
pub fn renew(
    dir: &Path,
    stamper: &dyn DigestStamper,
    alg: HashAlg,
    now_unix: i64,
) -> Result<Outcome, ArchiveError> {
    let Some(before) = check_bundle(dir, None)? else {
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
    let p = prepare_renewal(dir, stamper, alg)?;
    let summary = check_bundle(dir, Some(&p))?
        .ok_or_else(|| ArchiveError::BundleInvalid("the new record does not verify".into()))?;
    commit(dir, &p)?;
    Ok(Outcome {
        renewal: p.renewal,
        summary,
        warnings,
    })
}

/// Stamps the first archive time-stamp over every data object of `dir` (RFC 4998 §4.2:
/// one list of H(d), root = H(sorted list)).
pub fn prepare_first(
    dir: &Path,
    stamper: &dyn DigestStamper,
    alg: HashAlg,
) -> Result<Prepared, ArchiveError> {
    let mut leaves: Vec<Vec<u8>> = data_digests(dir, alg)?
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    leaves.sort();
    let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
    let root = tree::list_hash(alg, &refs);
    let (token, info) = stamp(stamper, alg, &root)?;
    let new = encode_stamp(alg, Some(&[leaves]), &token);
    let record = encode_record(&[alg], &[&encode_chain(&[&new])]);
    Ok(Prepared {
        record,
        number: 1,
        chain_pem: stamper.chain_pem(),
        renewal: None,
        token: info,
    })
}

/// Stamps a renewal of the record in `dir` with `alg` (§5.2 when `alg` is the last
/// chain's, else §5.3), without checking the record or any time: [`renew`] does.
pub fn prepare_renewal(
    dir: &Path,
    stamper: &dyn DigestStamper,
    alg: HashAlg,
) -> Result<Prepared, ArchiveError> {
    let bytes = fs::read(dir.join(RECORD_PATH)).map_err(io(RECORD_PATH))?;
    let rec = archive::parse(&bytes).map_err(|e| ArchiveError::BundleInvalid(e.to_string()))?;
    let chains = rec.chains_raw();
    let Some(last) = rec.chains.last() else {
        return Err(ArchiveError::BundleInvalid("no archive time-stamp".into()));
    };
    let mut algs = rec.digest_algorithms.clone();
    let (new_chains, kind, info) = if last.stamps.first().map(|s| s.alg) == Some(alg) {
        // §5.2: a new archive time-stamp over the previous token, in the same chain.
        let Some(prev) = last.stamps.last() else {
            return Err(ArchiveError::BundleInvalid("empty chain".into()));
        };
        let (token, info) = stamp(stamper, alg, &tree::timestamp_leaf(alg, prev.time_stamp))?;
        let new = encode_stamp(alg, None, &token);
        let mut stamps: Vec<&[u8]> = last.stamps.iter().map(|s| s.raw).collect();
        stamps.push(&new);
        let mut out: Vec<Vec<u8>> = chains
            .iter()
            .take(chains.len().saturating_sub(1))
            .map(|c| c.to_vec())
            .collect();
        out.push(encode_chain(&stamps));
        (out, RenewalKind::Timestamp, info)
    } else {
        // §5.3: a new chain over H(H(d) ‖ H(atsc)) for every data object.
        let seq = tree::sequence_digest(alg, &chains);
        let mut leaves: Vec<Vec<u8>> = data_digests(dir, alg)?
            .into_iter()
            .map(|(_, d)| tree::data_leaf(alg, &d, Some(&seq)))
            .collect();
        leaves.sort();
        let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
        let (token, info) = stamp(stamper, alg, &tree::list_hash(alg, &refs))?;
        let new = encode_stamp(alg, Some(&[leaves]), &token);
        let mut out: Vec<Vec<u8>> = chains.iter().map(|c| c.to_vec()).collect();
        out.push(encode_chain(&[&new]));
        if !algs.contains(&alg) {
            algs.push(alg);
        }
        (out, RenewalKind::HashTree, info)
    };
    let refs: Vec<&[u8]> = new_chains.iter().map(Vec::as_slice).collect();
    Ok(Prepared {
        record: encode_record(&algs, &refs),
        number: rec.stamp_count() + 1,
        chain_pem: stamper.chain_pem(),
        renewal: Some(kind),
        token: info,
    })
}

/// Writes a prepared record: its chain file, then the record through a file beside the
/// bundle renamed into place.
pub fn commit(dir: &Path, p: &Prepared) -> Result<(), ArchiveError> {
    write_record(dir, &p.record, p.number, &p.chain_pem)
}

/// One token over `root`, verified with the stamper's chain.
fn stamp(
    stamper: &dyn DigestStamper,
    alg: HashAlg,
    root: &[u8],
) -> Result<(Vec<u8>, TokenInfo), ArchiveError> {
    let token = stamper.stamp_digest(alg, root)?;
    let info = verify_token_digest(&token, alg, root, stamper.chain_pem().as_bytes())
        .map_err(TsaError::Untrusted)?;
    Ok((token, info))
}

/// Verifies the whole bundle (its own key, its own TSA chains), with `pending` in place
/// of its record when given: `Some(summary)` when it has a valid record, `None` when it
/// has none.
pub fn check_bundle(
    dir: &Path,
    pending: Option<&Prepared>,
) -> Result<Option<ArchiveSummary>, ArchiveError> {
    let src = DirSource::open(dir).map_err(|e| ArchiveError::Open(e.to_string()))?;
    let overlay = Overlay {
        base: &src,
        files: pending
            .map(|p| {
                vec![
                    (RECORD_PATH.to_owned(), p.record.clone()),
                    (chain_path(p.number), p.chain_pem.clone().into_bytes()),
                ]
            })
            .unwrap_or_default(),
    };
    let opts = VerifyOptions {
        trusted_key: None,
        trusted_history: None,
        timestamps: Some(&Rfc3161Checker),
        trusted_tsa_chain: None,
    };
    let report = verify_bundle(&overlay, &opts);
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

/// A bundle directory with some files replaced or added in memory.
struct Overlay<'a> {
    base: &'a DirSource,
    files: Vec<(String, Vec<u8>)>,
}

impl Overlay<'_> {
    fn own(&self, path: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, b)| b.as_slice())
    }
}

impl BundleSource for Overlay<'_> {
    fn paths(&self) -> Vec<String> {
        let mut all = self.base.paths();
        for (p, _) in &self.files {
            if !all.contains(p) {
                all.push(p.clone());
            }
        }
        all.sort();
        all
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        match self.own(path) {
            Some(b) => Ok(b.to_vec()),
            None => self.base.read(path),
        }
    }
    fn file_len(&self, path: &str) -> Result<u64, String> {
        match self.own(path) {
            Some(b) => Ok(b.len() as u64),
            None => self.base.file_len(path),
        }
    }
    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        let Some(b) = self.own(path) else {
            return self.base.read_range(path, offset, len);
        };
        let start = usize::try_from(offset).map_err(|e| e.to_string())?;
        let len = usize::try_from(len).map_err(|e| e.to_string())?;
        b.get(start..start.saturating_add(len))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| "range past the end of the file".to_owned())
    }
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
