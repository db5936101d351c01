//! A durable, append-only Merkle log on disk (one per hearing, plus the server-wide
//! custody log): `entries.jsonl` (one canonical entry per line), signed checkpoints in
//! `checkpoints/NNNNNN.note` (+ `.tsr`), consistency proofs in `proofs/`, attestation
//! files in `attestations/`. Crash recovery on open.
//!
//! It must never rewrite a line once written, never sign a root over unsynced entries,
//! and never silently accept entries a crash left outside a checkpoint.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;

use super::fsutil::write_durable;
use super::keys::ServerKey;
use crate::verify::bundle::ConsistencyFile;
use crate::verify::entry::{self, Entry, EntryBody, is_safe_relative_path};
use crate::verify::keys::ParticipantKey;
use crate::verify::merkle::{CompactRange, Hash, consistency_proof, leaf_hash};
use crate::verify::{canonical, clock, note};

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// File system error.
    #[error("evidence log I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A complete line of the stored log is invalid: refuse to continue it.
    #[error("evidence log corrupt at line {line}: {reason}")]
    Corrupt {
        /// Line (= seq).
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A stored checkpoint does not match the entries or the key.
    #[error("stored checkpoint {size} is invalid: {reason}")]
    BadCheckpoint {
        /// Its size.
        size: u64,
        /// What is wrong.
        reason: String,
    },
    /// The hearing is closed; nothing more may be appended.
    #[error("log is closed")]
    Closed,
    /// Nothing to checkpoint.
    #[error("log is empty")]
    Empty,
    /// An entry names an unsafe file path.
    #[error("unsafe file path in entry")]
    UnsafePath,
    /// A field breaks the entry rules (time format, digest, range).
    #[error("invalid entry field: {0}")]
    BadField(String),
    /// A media file is shorter than what the log already commits of it.
    #[error("media file {0} is shorter than its committed bytes")]
    MediaTruncated(String),
    /// A key_bound entry carries an invalid key.
    #[error("invalid participant public key")]
    BadPublicKey,
    /// Attestations go through `record_attestation`.
    #[error("attestation entries must be recorded with record_attestation")]
    AttestationViaAppend,
    /// An attestation was refused.
    #[error("attestation refused: {0}")]
    Attestation(String),
    /// The entry could not be encoded (e.g. a float).
    #[error("entry cannot be encoded: {0}")]
    Encode(String),
    /// No checkpoint of that size exists.
    #[error("no checkpoint of size {0}")]
    NoSuchCheckpoint(u64),
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root.
    pub root: Hash,
    /// Exact note bytes (what a time-stamp token must cover).
    pub note: Vec<u8>,
    /// Where the note is stored.
    pub path: PathBuf,
}

/// What `open` found and did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recovery {
    /// Bytes of a torn trailing line that were cut off.
    pub torn_bytes: u64,
    /// Complete entries `[from, to)` that were not covered by a checkpoint.
    pub uncheckpointed: Option<(u64, u64)>,
    /// Seq of the `recovered_after_interruption` entry, if one was written.
    pub recovered_seq: Option<u64>,
}

impl Recovery {
    /// True if the previous run ended without a final checkpoint.
    pub fn interrupted(&self) -> bool {
        self.recovered_seq.is_some()
    }
}

/// An open log.
#[derive(Debug)]
pub struct HearingLog {
    dir: PathBuf,
    log_id: String,
    origin: String,
    file: File,
    leaves: Vec<Hash>,
    range: CompactRange,
    checkpoints: BTreeMap<u64, Hash>,
    keys: HashMap<String, ParticipantKey>,
    attestations: u64,
    closed: bool,
    last_ms: i64,
    media: BTreeMap<String, media::MediaState>,
}

mod attest;
mod media;
mod recovery;

const ENTRIES: &str = "entries.jsonl";

fn cp_path(dir: &Path, size: u64, ext: &str) -> PathBuf {
    dir.join("checkpoints").join(format!("{size:06}.{ext}"))
}

impl HearingLog {
    /// Opens (or creates) the log in `dir` for `log_id` (the hearing id, or e.g.
    /// `custody`) with checkpoint origin `origin`. After a crash: cuts a torn trailing
    /// line, appends a `recovered_after_interruption` entry covering the entries after
    /// the last checkpoint, and signs a new checkpoint with `key`.
    pub fn open(
        dir: &Path,
        log_id: &str,
        origin: &str,
        key: &ServerKey,
        now: OffsetDateTime,
    ) -> Result<(HearingLog, Recovery), LogError> {
        for sub in ["checkpoints", "proofs", "attestations"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        let path = dir.join(ENTRIES);
        let mut bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let torn = (bytes.len() - keep) as u64;
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        if torn > 0 {
            file.set_len(keep as u64)?;
            file.sync_all()?;
            bytes.truncate(keep);
        }
        super::fsutil::sync_dir(dir)?;
        let mut log = HearingLog {
            dir: dir.to_path_buf(),
            log_id: log_id.to_string(),
            origin: origin.to_string(),
            file,
            leaves: Vec::new(),
            range: CompactRange::new(),
            checkpoints: BTreeMap::new(),
            keys: HashMap::new(),
            attestations: 0,
            closed: false,
            last_ms: i64::MIN,
            media: BTreeMap::new(),
        };
        let roots = log.replay(&bytes)?;
        log.load_checkpoints(key, &roots)?;
        log.remove_orphans()?;
        let size = log.size();
        let last_cp = log.checkpoints.keys().next_back().copied().unwrap_or(0);
        let mut rec = Recovery {
            torn_bytes: torn,
            ..Recovery::default()
        };
        if size > last_cp || torn > 0 {
            rec.uncheckpointed = (size > last_cp).then_some((last_cp, size));
            let was_closed = log.closed;
            log.closed = false;
            let seq = log.append(
                EntryBody::RecoveredAfterInterruption {
                    from_seq: last_cp,
                    to_seq: size,
                    torn_bytes: torn,
                },
                now,
            )?;
            rec.recovered_seq = Some(seq);
            if was_closed {
                log.append(
                    EntryBody::HearingClosed {
                        reason: "closed_before_interruption".into(),
                    },
                    now,
                )?;
            }
            log.checkpoint(key)?;
        }
        Ok((log, rec))
    }

    /// Updates derived state for an entry body (replay and append).
    fn note_entry(&mut self, body: &EntryBody) -> Result<(), LogError> {
        match body {
            EntryBody::KeyBound {
                participant,
                public_key,
                alg,
            } => {
                let k = ParticipantKey::from_entry(alg.as_deref(), public_key)
                    .map_err(|_| LogError::BadPublicKey)?;
                self.keys.insert(participant.clone(), k);
            }
            EntryBody::MediaChunk { file, .. }
            | EntryBody::FileSealed { file, .. }
            | EntryBody::DerivedFile { file, .. }
                if !is_safe_relative_path(file) =>
            {
                return Err(LogError::UnsafePath);
            }
            EntryBody::MediaChunk {
                file,
                offset,
                length,
                media_end_ms,
                ..
            } => {
                let m = self.media.entry(file.clone()).or_default();
                m.committed = m.committed.max(offset.saturating_add(*length));
                m.last_media_end_ms = *media_end_ms;
            }
            EntryBody::FileSealed { file, .. } => {
                self.media.entry(file.clone()).or_default().sealed = true;
            }
            EntryBody::Attestation { .. } => self.attestations += 1,
            EntryBody::HearingClosed { .. } => self.closed = true,
            _ => {}
        }
        Ok(())
    }

    /// Appends one entry (written, not yet fsynced: `checkpoint` syncs). Times that go
    /// backwards are clamped to the previous entry's time. Returns its seq.
    pub fn append(&mut self, body: EntryBody, time: OffsetDateTime) -> Result<u64, LogError> {
        if matches!(body, EntryBody::Attestation { .. }) {
            return Err(LogError::AttestationViaAppend);
        }
        self.append_inner(body, time)
    }

    pub(super) fn append_inner(
        &mut self,
        body: EntryBody,
        time: OffsetDateTime,
    ) -> Result<u64, LogError> {
        if self.closed {
            return Err(LogError::Closed);
        }
        let ms = i64::try_from(time.unix_timestamp_nanos() / 1_000_000)
            .unwrap_or(i64::MAX)
            .max(self.last_ms);
        let seq = self.size();
        let e = Entry {
            v: entry::ENTRY_VERSION,
            hearing: self.log_id.clone(),
            seq,
            time: clock::format_ms(ms),
            body,
        };
        let mut bytes = entry::encode(&e).map_err(|err| LogError::Encode(err.to_string()))?;
        // Validate before writing: the check must not leave state half-updated.
        if let EntryBody::KeyBound {
            public_key, alg, ..
        } = &e.body
        {
            ParticipantKey::from_entry(alg.as_deref(), public_key)
                .map_err(|_| LogError::BadPublicKey)?;
        }
        if let EntryBody::MediaChunk { file, .. }
        | EntryBody::FileSealed { file, .. }
        | EntryBody::DerivedFile { file, .. } = &e.body
        {
            if !is_safe_relative_path(file) {
                return Err(LogError::UnsafePath);
            }
        }
        entry::check_fields(&e.body).map_err(LogError::BadField)?;
        let h = leaf_hash(&bytes);
        bytes.push(b'\n');
        self.file.write_all(&bytes)?;
        self.note_entry(&e.body)?;
        self.leaves.push(h);
        self.range.push(h);
        self.last_ms = ms;
        Ok(seq)
    }

    /// fsyncs the entries and signs a checkpoint over all of them, with a consistency
    /// proof from the previous checkpoint. The caller fsyncs media it commits first.
    /// Returns the stored checkpoint if the size is already checkpointed.
    pub fn checkpoint(&mut self, key: &ServerKey) -> Result<SignedCheckpoint, LogError> {
        let size = self.size();
        if size == 0 {
            return Err(LogError::Empty);
        }
        self.file.sync_data()?;
        let path = cp_path(&self.dir, size, "note");
        if let Some(root) = self.checkpoints.get(&size) {
            return Ok(SignedCheckpoint {
                size,
                root: *root,
                note: fs::read(&path)?,
                path,
            });
        }
        let root = self.range.root();
        let body = note::checkpoint_body(&self.origin, size, &root);
        let note = key.sign_note(&body);
        if let Some((&old, old_root)) = self.checkpoints.last_key_value() {
            let proof =
                consistency_proof(&self.leaves, old).map_err(|e| LogError::BadCheckpoint {
                    size,
                    reason: e.to_string(),
                })?;
            let file = ConsistencyFile {
                old_size: old,
                new_size: size,
                old_root: STANDARD.encode(old_root),
                new_root: STANDARD.encode(root),
                proof: proof.iter().map(|h| STANDARD.encode(h)).collect(),
            };
            let value = serde_json::to_value(&file).map_err(|e| LogError::Encode(e.to_string()))?;
            let bytes =
                canonical::to_canonical(&value).map_err(|e| LogError::Encode(e.to_string()))?;
            write_durable(
                &self
                    .dir
                    .join("proofs")
                    .join(format!("{size:06}.consistency.json")),
                &bytes,
            )?;
        }
        write_durable(&path, &note)?;
        self.checkpoints.insert(size, root);
        Ok(SignedCheckpoint {
            size,
            root,
            note,
            path,
        })
    }

    /// fsyncs the entries written so far without signing a checkpoint (group commit: the
    /// custody writer makes many entries durable at once and signs checkpoints less
    /// often; a crash then leaves them to `recovered_after_interruption`, never lost).
    pub fn sync(&mut self) -> Result<(), LogError> {
        self.file.sync_data()?;
        Ok(())
    }

    /// Stores an RFC 3161 token (DER) over the note of checkpoint `size`.
    pub fn attach_timestamp(&self, size: u64, token_der: &[u8]) -> Result<PathBuf, LogError> {
        if !self.checkpoints.contains_key(&size) {
            return Err(LogError::NoSuchCheckpoint(size));
        }
        let p = cp_path(&self.dir, size, "tsr");
        write_durable(&p, token_der)?;
        Ok(p)
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// Current root.
    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// Latest checkpoint (size, root).
    pub fn latest_checkpoint(&self) -> Option<(u64, Hash)> {
        self.checkpoints.last_key_value().map(|(s, r)| (*s, *r))
    }

    /// True once `hearing_closed` is appended.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Origin line of checkpoints.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Key bound to a participant, if any.
    pub fn bound_key(&self, participant: &str) -> Option<ParticipantKey> {
        self.keys.get(participant).copied()
    }
}
