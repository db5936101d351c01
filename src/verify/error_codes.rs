//! Every failure code with its one-line description (`sworn-verify --list-codes`),
//! beside the enum in `error.rs`. Pure data.

/// Every failure code a verifier can report, with a one-line description, in the order
/// of [`VerifyError`](super::VerifyError)'s variants (what `sworn-verify --list-codes` prints). A variant
/// added to the enum must be named in [`VerifyError::code_name`](super::VerifyError::code_name) (the compiler insists)
/// and listed here (a test insists); `web/js/verify/errors.js` must give it a message.
pub const CODES: &[(&str, &str)] = &[
    ("ReadFailed", "The bundle source could not deliver a file."),
    (
        "FileTooLarge",
        "A file the verifier would read whole is larger than 256 MiB (MAX_WHOLE_FILE_BYTES); it is not read.",
    ),
    ("MissingFile", "A file the bundle must have is absent."),
    (
        "ExtraFile",
        "A file no rule of the bundle format accounts for.",
    ),
    ("EmptyFile", "A file is empty."),
    (
        "ManifestMalformed",
        "manifest.json is unreadable or incomplete.",
    ),
    ("ManifestWrongFormat", "Unknown bundle format."),
    ("ManifestBadSignature", "manifest.sig does not verify."),
    (
        "ManifestHashMismatch",
        "A file's SHA-256 differs from the manifest.",
    ),
    (
        "ManifestLengthMismatch",
        "A file's length differs from the manifest.",
    ),
    (
        "Sha256SumsMismatch",
        "SHA256SUMS is malformed, incomplete or wrong for a file.",
    ),
    ("KeyMalformed", "A key file is unreadable."),
    (
        "KeyMismatch",
        "The bundle's key files / manifest disagree about the server key.",
    ),
    (
        "UnknownKey",
        "The bundle's key is not the pinned trusted key.",
    ),
    (
        "KeyHistoryInvalid",
        "A key history (keys/history.json, custody/history.json or the pinned one) is malformed or a signature in it does not verify.",
    ),
    (
        "KeyHistoryConflict",
        "The bundle's key history and the pinned one hold different keys at one index (a fork).",
    ),
    (
        "KeyRetired",
        "A server key signed something dated after its retirement.",
    ),
    (
        "LogMalformed",
        "The log is empty or missing its final newline.",
    ),
    ("EntryNotCanonical", "An entry is not canonical JSON."),
    ("EntryMalformed", "An entry does not match its type."),
    ("SeqOutOfOrder", "An entry's seq is not its position."),
    ("EntryWrongHearing", "An entry names another hearing."),
    (
        "TimeOutOfOrder",
        "Entry times go backwards or are malformed.",
    ),
    (
        "LogNotOpened",
        "The log does not start with hearing_opened.",
    ),
    ("LogNotClosed", "The log does not end with hearing_closed."),
    ("EntryAfterClose", "An entry follows hearing_closed."),
    (
        "LogSizeMismatch",
        "The manifest's log size differs from the log.",
    ),
    (
        "RootMismatch",
        "A signed root differs from the root computed from the entries.",
    ),
    ("CheckpointMalformed", "A checkpoint note cannot be parsed."),
    (
        "CheckpointWrongOrigin",
        "A checkpoint's origin is not this hearing's.",
    ),
    (
        "CheckpointBadSignature",
        "A checkpoint's signature is missing or invalid.",
    ),
    (
        "CheckpointSizeInvalid",
        "A checkpoint's file name does not match its size, or it is beyond the log.",
    ),
    (
        "CheckpointNotFinal",
        "The final checkpoint does not cover the whole log.",
    ),
    (
        "ConsistencyProofInvalid",
        "A consistency proof does not verify.",
    ),
    (
        "ProofRootNotCheckpointed",
        "A proof's root is not the root of a signed checkpoint.",
    ),
    ("ChunkGap", "Media chunks leave a hole."),
    ("ChunkOverlap", "Media chunks overlap."),
    ("ChunkPastEnd", "A chunk reaches past the end of the file."),
    (
        "ChunkHashMismatch",
        "A chunk's bytes do not hash to the logged value.",
    ),
    ("MediaTrailingBytes", "The file has bytes no chunk commits."),
    (
        "FileNotSealed",
        "A media file has no (or a wrong) file_sealed entry, or chunks after it.",
    ),
    (
        "UncommittedFile",
        "A media or derived file no entry commits.",
    ),
    (
        "DerivedFileMismatch",
        "Derived file differs from its derived_file entry.",
    ),
    (
        "AttestationHashMismatch",
        "Attestation statement bytes do not hash to the logged value.",
    ),
    (
        "AttestationMalformed",
        "Statement content disagrees with its log entry or is malformed.",
    ),
    (
        "AttestationCheckpointUnknown",
        "Statement references a checkpoint that is not signed in the bundle.",
    ),
    (
        "AttestationBadSignature",
        "Attestation signature does not verify (or .sig/.pub.pem disagree with the log).",
    ),
    (
        "KeyNotBound",
        "No key_bound entry for the signer before the attestation.",
    ),
    ("MinutesBadSignature", "Minutes signature does not verify."),
    (
        "MinutesHashMismatch",
        "Minutes bytes differ from those the minutes attestation names.",
    ),
    (
        "TimestampMismatch",
        "A time-stamp token does not cover its checkpoint.",
    ),
    (
        "TimestampBeforeEntries",
        "A valid token's time is earlier than the log's time for entries it covers.",
    ),
    (
        "TimestampInvalid",
        "A time-stamp token is invalid for another reason.",
    ),
    (
        "CustodyFileUnexpected",
        "A file under custody/ that is not one of the extract's shapes, an entry without its proof (or a proof without its entry), or entries without checkpoint.note.",
    ),
    (
        "CustodyCheckpointBadSignature",
        "custody/checkpoint.note is not a checkpoint signed by the bundle's server key.",
    ),
    (
        "CustodyCheckpointWrongOrigin",
        "The custody checkpoint's origin is not <server>/custody.",
    ),
    (
        "CustodyEntryMalformed",
        "A custody entry is not a canonical retrieval entry of the custody log with seq = its file number.",
    ),
    (
        "CustodyEntryWrongHearing",
        "A custody entry is about another hearing.",
    ),
    (
        "CustodyInclusionInvalid",
        "An inclusion proof does not lead from the entry to the custody checkpoint.",
    ),
    (
        "CustodyTimestampInvalid",
        "custody/checkpoint.tsr is not a valid time-stamp over custody/checkpoint.note.",
    ),
    (
        "ArchiveRecordMalformed",
        "`archive/` holds an unexpected file, or the evidence record is not a DER EvidenceRecord in sworn's profile.",
    ),
    (
        "ArchiveAlgorithmUnsupported",
        "The evidence record names a hash algorithm other than SHA-256/384/512.",
    ),
    (
        "ArchiveDataNotCovered",
        "A file of the sealed bundle is not among the hashes an archive time-stamp covers.",
    ),
    (
        "ArchiveHashTreeMismatch",
        "An archive time-stamp's hash tree does not lead to its token's imprint or does not cover the previous time-stamp.",
    ),
    (
        "ArchiveTimestampInvalid",
        "An archive time-stamp's token does not verify under its TSA chain.",
    ),
    (
        "ArchiveRenewalOutOfOrder",
        "An archive time-stamp is older than the one before it.",
    ),
    (
        "ArchiveRenewalLate",
        "An archive time-stamp came after the previous token's TSA certificate expired.",
    ),
];
