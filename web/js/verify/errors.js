// The named failures of src/verify/error.rs, with the same codes, fields and messages, so
// a court reads the same words in the browser as from `sworn-verify`.
// Plain data: this module must never decide anything.

const MESSAGES = {
  ReadFailed: (e) => `cannot read ${e.path}: ${e.reason}`,
  FileTooLarge: (e) => `${e.path}: ${e.size} bytes, more than the ${e.max} read whole`,
  MissingFile: (e) => `missing file ${e.path}`,
  ExtraFile: (e) => `unexpected file ${e.path}`,
  EmptyFile: (e) => `empty file ${e.path}`,
  ManifestMalformed: (e) => `manifest malformed: ${e.reason}`,
  ManifestWrongFormat: (e) => `unsupported bundle format ${e.found}`,
  ManifestBadSignature: (e) => `manifest signature: ${e.reason}`,
  ManifestHashMismatch: (e) => `${e.path}: manifest says sha256 ${e.expected}, file has ${e.calculated}`,
  ManifestLengthMismatch: (e) => `${e.path}: manifest says ${e.expected} bytes, file has ${e.actual}`,
  Sha256SumsMismatch: (e) => `SHA256SUMS: ${e.reason}`,
  KeyMalformed: (e) => `${e.path}: bad key: ${e.reason}`,
  KeyMismatch: (e) => `server key mismatch: ${e.reason}`,
  UnknownKey: (e) => `bundle key ${e.fingerprint} is not the trusted key`,
  KeyHistoryInvalid: (e) => `${e.path}: key history invalid: ${e.reason}`,
  KeyHistoryConflict: (e) => `${e.path}: key ${e.index} differs from the pinned key history`,
  KeyRetired: (e) => `${e.path}: signed by key ${e.fingerprint}, retired ${e.retired}, for entries dated up to ${e.entry_time}`,
  LogMalformed: (e) => `log malformed: ${e.reason}`,
  EntryNotCanonical: (e) => `entry at line ${e.line} is not canonical JSON`,
  EntryMalformed: (e) => `entry at line ${e.line} malformed: ${e.reason}`,
  SeqOutOfOrder: (e) => `entry at line ${e.line} has seq ${e.found}, expected ${e.expected}`,
  EntryWrongHearing: (e) => `entry ${e.seq} belongs to hearing ${e.found}`,
  TimeOutOfOrder: (e) => `entry ${e.seq}: time ${e.time} is malformed or before the previous entry`,
  LogNotOpened: () => 'log does not start with hearing_opened',
  LogNotClosed: (e) => `log ends with ${e.last_type}, not hearing_closed`,
  EntryAfterClose: (e) => `entry ${e.seq} follows hearing_closed`,
  LogSizeMismatch: (e) => `manifest says log size ${e.manifest}, log has ${e.actual} entries`,
  RootMismatch: (e) => `${e.path}: signed root ${e.expected} but entries give ${e.calculated}`,
  CheckpointMalformed: (e) => `${e.path}: malformed checkpoint: ${e.reason}`,
  CheckpointWrongOrigin: (e) => `${e.path}: origin ${e.found}, expected ${e.expected}`,
  CheckpointBadSignature: (e) => `${e.path}: checkpoint signature: ${e.reason}`,
  CheckpointSizeInvalid: (e) => `${e.path}: checkpoint of size ${e.size} does not fit (log size ${e.log_size})`,
  CheckpointNotFinal: (e) => `final checkpoint ${e.path} covers ${e.size} entries, log has ${e.log_size}`,
  ConsistencyProofInvalid: (e) => `${e.path}: consistency proof invalid: ${e.reason}`,
  ProofRootNotCheckpointed: (e) => `${e.path}: proof root is not a signed checkpoint root`,
  ChunkGap: (e) => `${e.file}: chunk at seq ${e.seq} starts at ${e.found}, expected ${e.expected}`,
  ChunkOverlap: (e) => `${e.file}: chunk at seq ${e.seq} starts at ${e.found}, before ${e.expected}`,
  ChunkPastEnd: (e) => `${e.file}: chunk at seq ${e.seq} ends at ${e.end}, file has ${e.file_length} bytes`,
  ChunkHashMismatch: (e) => `${e.file}: bytes of chunk at seq ${e.seq} do not match its sha256`,
  MediaTrailingBytes: (e) => `${e.file}: ${e.length} bytes but only ${e.committed} committed`,
  FileNotSealed: (e) => `${e.file}: seal: ${e.reason}`,
  UncommittedFile: (e) => `${e.path} is not committed by any log entry`,
  DerivedFileMismatch: (e) => `${e.path}: derived file does not match its entry`,
  AttestationHashMismatch: (e) => `${e.path}: statement does not match the logged sha256`,
  AttestationMalformed: (e) => `${e.path}: ${e.reason}`,
  AttestationCheckpointUnknown: (e) => `${e.path}: statement references an unknown checkpoint`,
  AttestationBadSignature: (e) => `${e.path}: attestation signature: ${e.reason}`,
  KeyNotBound: (e) => `participant ${e.participant} has no key bound before entry ${e.seq}`,
  MinutesBadSignature: (e) => `minutes signature: ${e.reason}`,
  MinutesHashMismatch: () => 'minutes.html does not match the minutes attestation',
  TimestampMismatch: (e) => `${e.path}: time-stamp token is not over this checkpoint`,
  TimestampBeforeEntries: (e) => `${e.path}: time-stamped at ${e.gen_time}, but the log dates its entries ${e.entry_time}`,
  TimestampInvalid: (e) => `${e.path}: time-stamp token invalid: ${e.reason}`,
  CustodyFileUnexpected: (e) => `${e.path}: unexpected custody file: ${e.reason}`,
  CustodyCheckpointBadSignature: (e) => `custody/checkpoint.note: signature: ${e.reason}`,
  CustodyCheckpointWrongOrigin: (e) => `custody/checkpoint.note: origin ${e.found}, expected ${e.expected}`,
  CustodyEntryMalformed: (e) => `${e.path}: custody entry malformed: ${e.reason}`,
  CustodyEntryWrongHearing: (e) => `${e.path}: custody entry is about hearing ${e.found}, not this bundle's ${e.expected}`,
  CustodyInclusionInvalid: (e) => `${e.path}: inclusion proof invalid: ${e.reason}`,
  CustodyTimestampInvalid: (e) => `custody/checkpoint.tsr: ${e.reason}`,
  ArchiveRecordMalformed: (e) => `archive: evidence record malformed: ${e.reason}`,
  ArchiveAlgorithmUnsupported: (e) => `archive: unsupported hash algorithm ${e.oid}`,
  ArchiveDataNotCovered: (e) => `archive: ${e.path} is not covered by archive time-stamp #${e.stamp}`,
  ArchiveHashTreeMismatch: (e) => `archive: archive time-stamp #${e.stamp}: ${e.reason}`,
  ArchiveTimestampInvalid: (e) => `archive: archive time-stamp #${e.stamp}: token invalid: ${e.reason}`,
  ArchiveRenewalOutOfOrder: (e) => `archive: archive time-stamp #${e.stamp} (${e.gen_time}) is older than the one before it (${e.previous})`,
  ArchiveRenewalLate: (e) => `archive: archive time-stamp #${e.stamp} (${e.gen_time}) came after the previous token's TSA certificate expired (${e.expired})`,
};

/** A named failure: `{code, ...fields}` (numbers may be BigInt). */
export function err(code, fields = {}) {
  if (!MESSAGES[code]) throw new Error(`unknown failure ${code}`);
  return { code, ...fields };
}

/** The human message of a failure, as `sworn-verify` prints it. */
export function message(e) {
  return MESSAGES[e.code](e);
}

/** Every failure code, in the order of src/verify/error.rs (`sworn-verify --list-codes`). */
export const CODES = Object.freeze(Object.keys(MESSAGES));
