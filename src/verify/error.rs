//! Every named reason a bundle is rejected. One variant per failure class, so tests and
//! tooling can tell exactly what was wrong; serialized with `code` = the variant name.
//!
//! Plain data: this module must never decide anything.

use serde::Serialize;

/// A named verification failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code")]
#[non_exhaustive]
pub enum VerifyError {
    /// The bundle source could not deliver a file.
    #[error("cannot read {path}: {reason}")]
    ReadFailed { path: String, reason: String },
    /// A file the verifier would read whole is larger than
    /// [`MAX_WHOLE_FILE_BYTES`](crate::verify::bundle::MAX_WHOLE_FILE_BYTES); it is not read.
    #[error("{path}: {size} bytes, more than the {max} read whole")]
    FileTooLarge { path: String, size: u64, max: u64 },
    /// A file the bundle must have is absent.
    #[error("missing file {path}")]
    MissingFile { path: String },
    /// A file no rule of the bundle format accounts for.
    #[error("unexpected file {path}")]
    ExtraFile { path: String },
    /// A file is empty.
    #[error("empty file {path}")]
    EmptyFile { path: String },
    /// manifest.json is unreadable or incomplete.
    #[error("manifest malformed: {reason}")]
    ManifestMalformed { reason: String },
    /// Unknown bundle format.
    #[error("unsupported bundle format {found}")]
    ManifestWrongFormat { found: String },
    /// manifest.sig does not verify.
    #[error("manifest signature: {reason}")]
    ManifestBadSignature { reason: String },
    /// A file's SHA-256 differs from the manifest.
    #[error("{path}: manifest says sha256 {expected}, file has {calculated}")]
    ManifestHashMismatch {
        path: String,
        expected: String,
        calculated: String,
    },
    /// A file's length differs from the manifest.
    #[error("{path}: manifest says {expected} bytes, file has {actual}")]
    ManifestLengthMismatch {
        path: String,
        expected: u64,
        actual: u64,
    },
    /// SHA256SUMS is malformed, incomplete or wrong for a file.
    #[error("SHA256SUMS: {reason}")]
    Sha256SumsMismatch { reason: String },
    /// A key file is unreadable.
    #[error("{path}: bad key: {reason}")]
    KeyMalformed { path: String, reason: String },
    /// The bundle's key files / manifest disagree about the server key.
    #[error("server key mismatch: {reason}")]
    KeyMismatch { reason: String },
    /// The bundle's key is not the pinned trusted key.
    #[error("bundle key {fingerprint} is not the trusted key")]
    UnknownKey { fingerprint: String },
    /// A key history (`keys/history.json`, `custody/history.json` or the pinned one) is
    /// malformed or a signature in it does not verify.
    #[error("{path}: key history invalid: {reason}")]
    KeyHistoryInvalid { path: String, reason: String },
    /// The bundle's key history and the pinned one hold different keys at `index` (a
    /// fork: two successors signed by one key).
    #[error("{path}: key {index} differs from the pinned key history")]
    KeyHistoryConflict { path: String, index: u64 },
    /// A server key signed something dated after its retirement (its successor's
    /// `since` in the key history).
    #[error(
        "{path}: signed by key {fingerprint}, retired {retired}, for entries dated up to {entry_time}"
    )]
    KeyRetired {
        path: String,
        fingerprint: String,
        retired: String,
        entry_time: String,
    },
    /// The log is empty or missing its final newline.
    #[error("log malformed: {reason}")]
    LogMalformed { reason: String },
    /// An entry is not canonical JSON.
    #[error("entry at line {line} is not canonical JSON")]
    EntryNotCanonical { line: u64 },
    /// An entry does not match its type.
    #[error("entry at line {line} malformed: {reason}")]
    EntryMalformed { line: u64, reason: String },
    /// An entry's seq is not its position.
    #[error("entry at line {line} has seq {found}, expected {expected}")]
    SeqOutOfOrder {
        line: u64,
        expected: u64,
        found: u64,
    },
    /// An entry names another hearing.
    #[error("entry {seq} belongs to hearing {found}")]
    EntryWrongHearing { seq: u64, found: String },
    /// Entry times go backwards or are malformed.
    #[error("entry {seq}: time {time} is malformed or before the previous entry")]
    TimeOutOfOrder { seq: u64, time: String },
    /// The log does not start with hearing_opened.
    #[error("log does not start with hearing_opened")]
    LogNotOpened,
    /// The log does not end with hearing_closed.
    #[error("log ends with {last_type}, not hearing_closed")]
    LogNotClosed { last_type: String },
    /// An entry follows hearing_closed.
    #[error("entry {seq} follows hearing_closed")]
    EntryAfterClose { seq: u64 },
    /// The manifest's log size differs from the log.
    #[error("manifest says log size {manifest}, log has {actual} entries")]
    LogSizeMismatch { manifest: u64, actual: u64 },
    /// A signed root differs from the root computed from the entries.
    #[error("{path}: signed root {expected} but entries give {calculated}")]
    RootMismatch {
        path: String,
        expected: String,
        calculated: String,
    },
    /// A checkpoint note cannot be parsed.
    #[error("{path}: malformed checkpoint: {reason}")]
    CheckpointMalformed { path: String, reason: String },
    /// A checkpoint's origin is not this hearing's.
    #[error("{path}: origin {found}, expected {expected}")]
    CheckpointWrongOrigin {
        path: String,
        expected: String,
        found: String,
    },
    /// A checkpoint's signature is missing or invalid.
    #[error("{path}: checkpoint signature: {reason}")]
    CheckpointBadSignature { path: String, reason: String },
    /// A checkpoint's file name does not match its size, or it is beyond the log.
    #[error("{path}: checkpoint of size {size} does not fit (log size {log_size})")]
    CheckpointSizeInvalid {
        path: String,
        size: u64,
        log_size: u64,
    },
    /// The final checkpoint does not cover the whole log.
    #[error("final checkpoint {path} covers {size} entries, log has {log_size}")]
    CheckpointNotFinal {
        path: String,
        size: u64,
        log_size: u64,
    },
    /// A consistency proof does not verify.
    #[error("{path}: consistency proof invalid: {reason}")]
    ConsistencyProofInvalid { path: String, reason: String },
    /// A proof's root is not the root of a signed checkpoint.
    #[error("{path}: proof root is not a signed checkpoint root")]
    ProofRootNotCheckpointed { path: String },
    /// Media chunks leave a hole.
    #[error("{file}: chunk at seq {seq} starts at {found}, expected {expected}")]
    ChunkGap {
        file: String,
        seq: u64,
        expected: u64,
        found: u64,
    },
    /// Media chunks overlap.
    #[error("{file}: chunk at seq {seq} starts at {found}, before {expected}")]
    ChunkOverlap {
        file: String,
        seq: u64,
        expected: u64,
        found: u64,
    },
    /// A chunk reaches past the end of the file.
    #[error("{file}: chunk at seq {seq} ends at {end}, file has {file_length} bytes")]
    ChunkPastEnd {
        file: String,
        seq: u64,
        end: u64,
        file_length: u64,
    },
    /// A chunk's bytes do not hash to the logged value.
    #[error("{file}: bytes of chunk at seq {seq} do not match its sha256")]
    ChunkHashMismatch { file: String, seq: u64 },
    /// The file has bytes no chunk commits.
    #[error("{file}: {length} bytes but only {committed} committed")]
    MediaTrailingBytes {
        file: String,
        committed: u64,
        length: u64,
    },
    /// A media file has no (or a wrong) file_sealed entry, or chunks after it.
    #[error("{file}: seal: {reason}")]
    FileNotSealed { file: String, reason: String },
    /// A media or derived file no entry commits.
    #[error("{path} is not committed by any log entry")]
    UncommittedFile { path: String },
    /// Derived file differs from its derived_file entry.
    #[error("{path}: derived file does not match its entry")]
    DerivedFileMismatch { path: String },
    /// Attestation statement bytes do not hash to the logged value.
    #[error("{path}: statement does not match the logged sha256")]
    AttestationHashMismatch { path: String },
    /// Statement content disagrees with its log entry or is malformed.
    #[error("{path}: {reason}")]
    AttestationMalformed { path: String, reason: String },
    /// Statement references a checkpoint that is not signed in the bundle.
    #[error("{path}: statement references an unknown checkpoint")]
    AttestationCheckpointUnknown { path: String },
    /// Attestation signature does not verify (or .sig/.pub.pem disagree with the log).
    #[error("{path}: attestation signature: {reason}")]
    AttestationBadSignature { path: String, reason: String },
    /// No key_bound entry for the signer before the attestation.
    #[error("participant {participant} has no key bound before entry {seq}")]
    KeyNotBound { participant: String, seq: u64 },
    /// Minutes signature does not verify.
    #[error("minutes signature: {reason}")]
    MinutesBadSignature { reason: String },
    /// Minutes bytes differ from those the minutes attestation names.
    #[error("minutes.html does not match the minutes attestation")]
    MinutesHashMismatch,
    /// A time-stamp token does not cover its checkpoint.
    #[error("{path}: time-stamp token is not over this checkpoint")]
    TimestampMismatch { path: String },
    /// A valid token's time is earlier than the log's time for entries it covers.
    #[error("{path}: time-stamped at {gen_time}, but the log dates its entries {entry_time}")]
    TimestampBeforeEntries {
        path: String,
        entry_time: String,
        gen_time: String,
    },
    /// A time-stamp token is invalid for another reason.
    #[error("{path}: time-stamp token invalid: {reason}")]
    TimestampInvalid { path: String, reason: String },
    /// A file under `custody/` that is not one of the extract's shapes, an entry without
    /// its proof (or a proof without its entry), or entries without `checkpoint.note`.
    #[error("{path}: unexpected custody file: {reason}")]
    CustodyFileUnexpected { path: String, reason: String },
    /// `custody/checkpoint.note` is not a checkpoint signed by the bundle's server key.
    #[error("custody/checkpoint.note: signature: {reason}")]
    CustodyCheckpointBadSignature { reason: String },
    /// The custody checkpoint's origin is not `<server>/custody`.
    #[error("custody/checkpoint.note: origin {found}, expected {expected}")]
    CustodyCheckpointWrongOrigin { expected: String, found: String },
    /// A custody entry is not a canonical retrieval entry of the custody log with
    /// seq = its file number.
    #[error("{path}: custody entry malformed: {reason}")]
    CustodyEntryMalformed { path: String, reason: String },
    /// A custody entry is about another hearing.
    #[error("{path}: custody entry is about hearing {found}, not this bundle's {expected}")]
    CustodyEntryWrongHearing {
        path: String,
        expected: String,
        found: String,
    },
    /// An inclusion proof does not lead from the entry to the custody checkpoint.
    #[error("{path}: inclusion proof invalid: {reason}")]
    CustodyInclusionInvalid { path: String, reason: String },
    /// `custody/checkpoint.tsr` is not a valid time-stamp over `custody/checkpoint.note`.
    #[error("custody/checkpoint.tsr: {reason}")]
    CustodyTimestampInvalid { reason: String },
    /// `archive/` holds a file other than the evidence record and its TSA chains, or the
    /// record is not a DER EvidenceRecord in sworn's profile (docs/bundle-format.md §14).
    #[error("archive: evidence record malformed: {reason}")]
    ArchiveRecordMalformed { reason: String },
    /// The evidence record names a hash algorithm other than SHA-256/384/512.
    #[error("archive: unsupported hash algorithm {oid}")]
    ArchiveAlgorithmUnsupported { oid: String },
    /// A file of the sealed bundle is not among the hashes an archive time-stamp covers.
    #[error("archive: {path} is not covered by archive time-stamp #{stamp}")]
    ArchiveDataNotCovered { path: String, stamp: u64 },
    /// An archive time-stamp's hash tree does not lead to its token's imprint, holds
    /// hashes of no data object, or does not cover the previous time-stamp.
    #[error("archive: archive time-stamp #{stamp}: {reason}")]
    ArchiveHashTreeMismatch { stamp: u64, reason: String },
    /// An archive time-stamp's token does not verify under its TSA chain.
    #[error("archive: archive time-stamp #{stamp}: token invalid: {reason}")]
    ArchiveTimestampInvalid { stamp: u64, reason: String },
    /// A renewal's token is older than the token it renews.
    #[error(
        "archive: archive time-stamp #{stamp} ({gen_time}) is older than the one before it ({previous})"
    )]
    ArchiveRenewalOutOfOrder {
        stamp: u64,
        gen_time: String,
        previous: String,
    },
    /// A renewal came after the previous token's TSA certificate had expired: the
    /// protection was interrupted.
    #[error(
        "archive: archive time-stamp #{stamp} ({gen_time}) came after the previous token's TSA certificate expired ({expired})"
    )]
    ArchiveRenewalLate {
        stamp: u64,
        gen_time: String,
        expired: String,
    },
}

impl VerifyError {
    /// Variant name (`RootMismatch`, ...).
    pub fn code(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_string))
            .unwrap_or_default()
    }
}

pub use codes::CODES;

/// The code table, kept apart from the enum it lists.
#[path = "error_codes.rs"]
mod codes;

impl VerifyError {
    /// Variant name (`RootMismatch`, ...), as a constant: the same as [`VerifyError::code`].
    pub fn code_name(&self) -> &'static str {
        match self {
            Self::ReadFailed { .. } => "ReadFailed",
            Self::FileTooLarge { .. } => "FileTooLarge",
            Self::MissingFile { .. } => "MissingFile",
            Self::ExtraFile { .. } => "ExtraFile",
            Self::EmptyFile { .. } => "EmptyFile",
            Self::ManifestMalformed { .. } => "ManifestMalformed",
            Self::ManifestWrongFormat { .. } => "ManifestWrongFormat",
            Self::ManifestBadSignature { .. } => "ManifestBadSignature",
            Self::ManifestHashMismatch { .. } => "ManifestHashMismatch",
            Self::ManifestLengthMismatch { .. } => "ManifestLengthMismatch",
            Self::Sha256SumsMismatch { .. } => "Sha256SumsMismatch",
            Self::KeyMalformed { .. } => "KeyMalformed",
            Self::KeyMismatch { .. } => "KeyMismatch",
            Self::UnknownKey { .. } => "UnknownKey",
            Self::KeyHistoryInvalid { .. } => "KeyHistoryInvalid",
            Self::KeyHistoryConflict { .. } => "KeyHistoryConflict",
            Self::KeyRetired { .. } => "KeyRetired",
            Self::ArchiveRecordMalformed { .. } => "ArchiveRecordMalformed",
            Self::ArchiveAlgorithmUnsupported { .. } => "ArchiveAlgorithmUnsupported",
            Self::ArchiveDataNotCovered { .. } => "ArchiveDataNotCovered",
            Self::ArchiveHashTreeMismatch { .. } => "ArchiveHashTreeMismatch",
            Self::ArchiveTimestampInvalid { .. } => "ArchiveTimestampInvalid",
            Self::ArchiveRenewalOutOfOrder { .. } => "ArchiveRenewalOutOfOrder",
            Self::ArchiveRenewalLate { .. } => "ArchiveRenewalLate",
            Self::LogMalformed { .. } => "LogMalformed",
            Self::EntryNotCanonical { .. } => "EntryNotCanonical",
            Self::EntryMalformed { .. } => "EntryMalformed",
            Self::SeqOutOfOrder { .. } => "SeqOutOfOrder",
            Self::EntryWrongHearing { .. } => "EntryWrongHearing",
            Self::TimeOutOfOrder { .. } => "TimeOutOfOrder",
            Self::LogNotOpened => "LogNotOpened",
            Self::LogNotClosed { .. } => "LogNotClosed",
            Self::EntryAfterClose { .. } => "EntryAfterClose",
            Self::LogSizeMismatch { .. } => "LogSizeMismatch",
            Self::RootMismatch { .. } => "RootMismatch",
            Self::CheckpointMalformed { .. } => "CheckpointMalformed",
            Self::CheckpointWrongOrigin { .. } => "CheckpointWrongOrigin",
            Self::CheckpointBadSignature { .. } => "CheckpointBadSignature",
            Self::CheckpointSizeInvalid { .. } => "CheckpointSizeInvalid",
            Self::CheckpointNotFinal { .. } => "CheckpointNotFinal",
            Self::ConsistencyProofInvalid { .. } => "ConsistencyProofInvalid",
            Self::ProofRootNotCheckpointed { .. } => "ProofRootNotCheckpointed",
            Self::ChunkGap { .. } => "ChunkGap",
            Self::ChunkOverlap { .. } => "ChunkOverlap",
            Self::ChunkPastEnd { .. } => "ChunkPastEnd",
            Self::ChunkHashMismatch { .. } => "ChunkHashMismatch",
            Self::MediaTrailingBytes { .. } => "MediaTrailingBytes",
            Self::FileNotSealed { .. } => "FileNotSealed",
            Self::UncommittedFile { .. } => "UncommittedFile",
            Self::DerivedFileMismatch { .. } => "DerivedFileMismatch",
            Self::AttestationHashMismatch { .. } => "AttestationHashMismatch",
            Self::AttestationMalformed { .. } => "AttestationMalformed",
            Self::AttestationCheckpointUnknown { .. } => "AttestationCheckpointUnknown",
            Self::AttestationBadSignature { .. } => "AttestationBadSignature",
            Self::KeyNotBound { .. } => "KeyNotBound",
            Self::MinutesBadSignature { .. } => "MinutesBadSignature",
            Self::MinutesHashMismatch => "MinutesHashMismatch",
            Self::TimestampMismatch { .. } => "TimestampMismatch",
            Self::TimestampBeforeEntries { .. } => "TimestampBeforeEntries",
            Self::TimestampInvalid { .. } => "TimestampInvalid",
            Self::CustodyFileUnexpected { .. } => "CustodyFileUnexpected",
            Self::CustodyCheckpointBadSignature { .. } => "CustodyCheckpointBadSignature",
            Self::CustodyCheckpointWrongOrigin { .. } => "CustodyCheckpointWrongOrigin",
            Self::CustodyEntryMalformed { .. } => "CustodyEntryMalformed",
            Self::CustodyEntryWrongHearing { .. } => "CustodyEntryWrongHearing",
            Self::CustodyInclusionInvalid { .. } => "CustodyInclusionInvalid",
            Self::CustodyTimestampInvalid { .. } => "CustodyTimestampInvalid",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variant names as written in this file's `enum VerifyError`.
    fn variants_in_source() -> Vec<String> {
        let src = include_str!("error.rs");
        let start = src.find("pub enum VerifyError {").unwrap_or(0);
        let body = &src[start..];
        let end = body.find("\n}\n").unwrap_or(body.len());
        body[..end]
            .lines()
            .filter_map(|l| {
                let name = l.strip_prefix("    ")?;
                let first = name.chars().next()?;
                if !first.is_ascii_uppercase() {
                    return None;
                }
                let name: String = name
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                Some(name)
            })
            .collect()
    }

    #[test]
    fn codes_are_exactly_the_variants_in_order() {
        let listed: Vec<&str> = CODES.iter().map(|(c, _)| *c).collect();
        assert_eq!(listed, variants_in_source());
        assert!(
            CODES
                .iter()
                .all(|(_, d)| !d.is_empty() && !d.contains('\n'))
        );
    }

    #[test]
    fn code_name_agrees_with_the_serialized_code() {
        let samples = [
            VerifyError::LogNotOpened,
            VerifyError::MinutesHashMismatch,
            VerifyError::RootMismatch {
                path: "p".into(),
                expected: "e".into(),
                calculated: "c".into(),
            },
            VerifyError::CustodyTimestampInvalid { reason: "r".into() },
        ];
        for e in samples {
            assert_eq!(e.code(), e.code_name());
            assert!(CODES.iter().any(|(c, _)| *c == e.code_name()));
        }
    }
}
