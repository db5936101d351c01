//! Bundle verification: walks every rule of `docs/bundle-format.md` over a
//! [`BundleSource`] and produces a [`Report`] of named checks.
//!
//! Pure: files come through the source trait, time-stamp checks through
//! [`TimestampVerifier`]. It must never read the filesystem, the network or the clock,
//! and must fail closed on anything missing, extra or empty.

mod archive;
mod attest;
mod checkpoints;
mod custody;
mod log;
mod manifest;
mod media;
mod signers;

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use super::archive::StampTime;
use super::error::VerifyError;
use super::hash_alg::HashAlg;
use super::key_history::Pin;
use super::report::{Check, Report, Status, Verdict};

pub use checkpoints::{ConsistencyFile, note_path};
pub use custody::{
    CHECKPOINT_NOTE, CHECKPOINT_TSR, CustodyRecord, InclusionFile, entry_path, proof_path,
};
pub use manifest::{BUNDLE_FORMAT, Manifest, ManifestFile, ManifestKey};
pub use signers::{CUSTODY_HISTORY_PATH, HISTORY_PATH};

/// Where bundle bytes come from (a directory, a zip, memory).
pub trait BundleSource {
    /// Every regular file, as a `/`-separated path relative to the bundle root.
    fn paths(&self) -> Vec<String>;
    /// The bytes of one file.
    fn read(&self, path: &str) -> Result<Vec<u8>, String>;

    /// Length of one file. Override to avoid reading the file.
    fn file_len(&self, path: &str) -> Result<u64, String> {
        self.read(path).map(|b| b.len() as u64)
    }

    /// `len` bytes of one file from `offset`; an error if the range passes the end.
    /// Override so large media files are never read whole.
    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        let bytes = self.read(path)?;
        let start = usize::try_from(offset).map_err(|_| "offset too large")?;
        let end = usize::try_from(offset.saturating_add(len)).map_err(|_| "range too large")?;
        bytes
            .get(start..end)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| "range past the end of the file".to_string())
    }
}

/// Largest file the verifier reads whole into memory (every file but media and derived
/// files, which are hashed in blocks). A larger one is [`VerifyError::FileTooLarge`] and
/// is never read. Generous: a day-long hearing's `entries.jsonl` is tens of MB.
pub const MAX_WHOLE_FILE_BYTES: u64 = 256 << 20;

/// Block size of streaming reads.
const BLOCK: u64 = 1 << 20;

/// Why a time-stamp token was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampFailure {
    /// The token's message imprint is not over the given bytes.
    Mismatch,
    /// Any other problem (signature, chain, parse).
    Invalid(String),
}

/// The time a valid token proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenTime {
    /// genTime as the TSA wrote it (RFC 3339).
    pub text: String,
    /// genTime, whole seconds since the Unix epoch.
    pub unix_seconds: i64,
}

/// RFC 3161 token checker (implemented over `verify::timestamp`).
pub trait TimestampVerifier {
    /// Checks `token_der` time-stamps exactly `message` under the CA(s) in `chain_pem`;
    /// returns the token's time.
    fn verify(
        &self,
        token_der: &[u8],
        message: &[u8],
        chain_pem: &[u8],
    ) -> Result<TokenTime, TimestampFailure>;

    /// Checks `token_der` time-stamps exactly `digest` under `alg` (an evidence record's
    /// root hash) under the CA(s) in `chain_pem`; returns the token's time and its TSA
    /// certificate's notAfter.
    fn verify_digest(
        &self,
        token_der: &[u8],
        alg: HashAlg,
        digest: &[u8],
        chain_pem: &[u8],
    ) -> Result<StampTime, TimestampFailure>;
}

/// What the caller trusts.
#[derive(Default)]
pub struct VerifyOptions<'a> {
    /// Pinned server key; `None` means the bundle's own key is used and its fingerprint
    /// is reported for out-of-band comparison.
    pub trusted_key: Option<VerifyingKey>,
    /// Pinned key history: every key in it is trusted up to its retirement, and keys a
    /// bundle's own history links to its newest key by signed rotations. Takes
    /// precedence over `trusted_key`.
    pub trusted_history: Option<crate::verify::key_history::KeyHistory>,
    /// Time-stamp checker; `None` skips token checks (reported as skipped).
    pub timestamps: Option<&'a dyn TimestampVerifier>,
    /// Pinned TSA certificate(s), PEM; `None` uses the bundle's `tsa/chain.pem` and says
    /// so in the report.
    pub trusted_tsa_chain: Option<Vec<u8>>,
}

/// In-memory source (tests, the browser verifier, zip readers).
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    /// path -> bytes
    pub files: BTreeMap<String, Vec<u8>>,
}

impl BundleSource for MemorySource {
    fn paths(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| "no such file".to_string())
    }
    fn file_len(&self, path: &str) -> Result<u64, String> {
        self.files
            .get(path)
            .map(|b| b.len() as u64)
            .ok_or_else(|| "no such file".to_string())
    }
}

/// Shared state of one verification run.
pub(crate) struct Ctx<'a> {
    src: &'a dyn BundleSource,
    pub(crate) paths: BTreeSet<String>,
    /// path -> (hex sha256, length), for every file that could be read.
    pub(crate) digests: BTreeMap<String, (String, u64)>,
    pub(crate) checks: Vec<Check>,
    /// Exact bytes of manifest.json, once read.
    pub(crate) manifest_bytes: Vec<u8>,
}

impl<'a> Ctx<'a> {
    /// A whole file, at most [`MAX_WHOLE_FILE_BYTES`]; its length is asked first, so a
    /// larger one is never read.
    pub(crate) fn read(&self, path: &str, errs: &mut Vec<VerifyError>) -> Option<Vec<u8>> {
        let size = self.file_len(path, errs)?;
        if size > MAX_WHOLE_FILE_BYTES {
            errs.push(VerifyError::FileTooLarge {
                path: path.into(),
                size,
                max: MAX_WHOLE_FILE_BYTES,
            });
            return None;
        }
        match self.src.read(path) {
            Ok(b) => Some(b),
            Err(reason) => {
                errs.push(VerifyError::ReadFailed {
                    path: path.into(),
                    reason,
                });
                None
            }
        }
    }

    fn read_failed(path: &str, reason: String) -> VerifyError {
        VerifyError::ReadFailed {
            path: path.into(),
            reason,
        }
    }

    /// Length of a file in the bundle.
    pub(crate) fn file_len(&self, path: &str, errs: &mut Vec<VerifyError>) -> Option<u64> {
        if !self.paths.contains(path) {
            errs.push(VerifyError::MissingFile { path: path.into() });
            return None;
        }
        self.src
            .file_len(path)
            .map_err(|r| errs.push(Self::read_failed(path, r)))
            .ok()
    }

    /// Hex SHA-256 of `len` bytes from `offset`, read in blocks (the caller has checked
    /// the range lies inside the file).
    pub(crate) fn hash_range(
        &self,
        path: &str,
        offset: u64,
        len: u64,
        errs: &mut Vec<VerifyError>,
    ) -> Option<String> {
        self.digest_range(path, offset, len, HashAlg::Sha256, errs)
            .map(hex::encode)
    }

    /// The `alg` digest of `len` bytes from `offset`, read in blocks.
    pub(crate) fn digest_range(
        &self,
        path: &str,
        offset: u64,
        len: u64,
        alg: HashAlg,
        errs: &mut Vec<VerifyError>,
    ) -> Option<Vec<u8>> {
        let mut h = alg.hasher();
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(BLOCK);
            match self.src.read_range(path, offset.saturating_add(done), n) {
                Ok(b) if b.len() as u64 == n => h.update(&b),
                Ok(_) => {
                    errs.push(Self::read_failed(path, "short read".into()));
                    return None;
                }
                Err(r) => {
                    errs.push(Self::read_failed(path, r));
                    return None;
                }
            }
            done += n;
        }
        Some(h.finish())
    }

    pub(crate) fn record(&mut self, name: &str, errs: Vec<VerifyError>, ok: String) {
        if errs.is_empty() {
            self.checks.push(Check {
                name: name.into(),
                status: Status::Pass,
                detail: ok,
                error: None,
            });
        }
        for e in errs {
            self.checks.push(Check {
                name: name.into(),
                status: Status::Fail,
                detail: e.to_string(),
                error: Some(e),
            });
        }
    }

    pub(crate) fn skip(&mut self, name: &str, detail: String) {
        self.checks.push(Check {
            name: name.into(),
            status: Status::Skip,
            detail,
            error: None,
        });
    }
}

/// Log id of the server-wide custody log.
pub const CUSTODY_LOG_ID: &str = "custody";

/// Hex SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Verifies a whole bundle.
pub fn verify_bundle(src: &dyn BundleSource, opts: &VerifyOptions<'_>) -> Report {
    let mut ctx = Ctx {
        src,
        paths: src.paths().into_iter().collect(),
        digests: BTreeMap::new(),
        checks: Vec::new(),
        manifest_bytes: Vec::new(),
    };
    let mut report = Report {
        checks: Vec::new(),
        valid: false,
        verdict: Verdict::Invalid,
        hearing: None,
        log_size: None,
        key_fingerprint: None,
        key_pinned: opts.trusted_key.is_some() || opts.trusted_history.is_some(),
        interruptions: Vec::new(),
        nodes_lost: Vec::new(),
        custody: Vec::new(),
        archive: None,
    };
    let Some(man) = manifest::check_files(&mut ctx) else {
        report.checks = ctx.checks;
        return report;
    };
    report.hearing = Some(man.hearing.clone());
    let pin = match (&opts.trusted_history, opts.trusted_key) {
        (Some(h), _) => Some(Pin::History(h.clone())),
        (None, Some(k)) => Some(Pin::Key(k)),
        (None, None) => None,
    };
    let signers = manifest::check_keys(&mut ctx, &man, pin.as_ref());
    report.key_fingerprint = signers
        .as_ref()
        .map(|s| super::keys::fingerprint(&s.current.key));
    let spec = log::LogSpec {
        base: "log/",
        name: "log",
        log_id: &man.hearing,
        origin: man.origin.clone(),
    };
    let log = log::check_log(&mut ctx, &man, &spec);
    report.log_size = Some(log.entries.len() as u64);
    report.interruptions = log.interruptions.clone();
    report.nodes_lost = log.nodes_lost.clone();
    let cps = checkpoints::check_checkpoints(&mut ctx, &spec, Some(&man), &log, signers.as_ref());
    checkpoints::check_proofs(&mut ctx, &spec, &cps);
    checkpoints::check_timestamps(
        &mut ctx,
        &log,
        &cps,
        opts.timestamps,
        opts.trusted_tsa_chain.as_deref(),
    );
    media::check_media(&mut ctx, &log);
    media::check_derived(&mut ctx, &log);
    attest::check_attestations(&mut ctx, &man, &log, &cps);
    report.custody = custody::check_custody(
        &mut ctx,
        &man.hearing,
        signers.as_ref(),
        pin.as_ref(),
        opts.timestamps,
        opts.trusted_tsa_chain.as_deref(),
    );
    report.archive =
        archive::check_archive(&mut ctx, opts.timestamps, opts.trusted_tsa_chain.as_deref());
    report.valid = !ctx.checks.is_empty() && ctx.checks.iter().all(|c| c.status != Status::Fail);
    report.verdict = Verdict::of(report.valid, report.key_pinned);
    report.checks = ctx.checks;
    report
}

/// The built-in RFC 3161 checker over [`crate::verify::timestamp::verify_token`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Rfc3161Checker;

impl TimestampVerifier for Rfc3161Checker {
    fn verify(
        &self,
        token_der: &[u8],
        message: &[u8],
        chain_pem: &[u8],
    ) -> Result<TokenTime, TimestampFailure> {
        use crate::verify::timestamp::{TimestampError, verify_token};
        match verify_token(token_der, message, chain_pem) {
            Ok(info) => Ok(TokenTime {
                text: info.gen_time,
                unix_seconds: info.gen_time_unix,
            }),
            Err(TimestampError::ImprintMismatch) => Err(TimestampFailure::Mismatch),
            Err(e) => Err(TimestampFailure::Invalid(e.to_string())),
        }
    }

    fn verify_digest(
        &self,
        token_der: &[u8],
        alg: HashAlg,
        digest: &[u8],
        chain_pem: &[u8],
    ) -> Result<StampTime, TimestampFailure> {
        use crate::verify::timestamp::{TimestampError, verify_token_digest};
        match verify_token_digest(token_der, alg, digest, chain_pem) {
            Ok(info) => Ok(archive::stamp_time(
                info.gen_time,
                info.gen_time_unix,
                info.signer_not_after,
                info.signer_not_after_unix,
            )),
            Err(TimestampError::ImprintMismatch) => Err(TimestampFailure::Mismatch),
            Err(e) => Err(TimestampFailure::Invalid(e.to_string())),
        }
    }
}
