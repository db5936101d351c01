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
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::fsutil::write_durable;
use super::keys::ServerKey;
use crate::verify::attestation::{attestation_paths, parse_statement};
use crate::verify::bundle::ConsistencyFile;
use crate::verify::entry::{self, Entry, EntryBody, is_safe_relative_path};
use crate::verify::keys::{NoteVerifier, key_id, parse_raw_b64url, public_key_pem};
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
    keys: HashMap<String, VerifyingKey>,
    attestations: u64,
    closed: bool,
    last_ms: i64,
}

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

    /// Replays stored lines; returns the root at every size (index = size - 1).
    fn replay(&mut self, bytes: &[u8]) -> Result<Vec<Hash>, LogError> {
        let mut roots = Vec::new();
        let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        if body.is_empty() {
            return Ok(roots);
        }
        for (i, line) in body.split(|b| *b == b'\n').enumerate() {
            let seq = i as u64;
            let corrupt = |reason: String| LogError::Corrupt { line: seq, reason };
            let e = entry::decode(line).map_err(|e| corrupt(e.to_string()))?;
            if e.seq != seq || e.hearing != self.log_id {
                return Err(corrupt("wrong seq or log id".into()));
            }
            if self.closed {
                return Err(corrupt("entry after hearing_closed".into()));
            }
            self.note_entry(&e.body)?;
            self.last_ms = clock::parse_ms(&e.time).unwrap_or(self.last_ms);
            let h = leaf_hash(line);
            self.leaves.push(h);
            self.range.push(h);
            roots.push(self.range.root());
        }
        Ok(roots)
    }

    fn load_checkpoints(&mut self, key: &ServerKey, roots: &[Hash]) -> Result<(), LogError> {
        let verifier = NoteVerifier {
            name: key.name().to_string(),
            key_id: key_id(key.name(), &key.verifying_key()),
            key: key.verifying_key(),
        };
        for ent in fs::read_dir(self.dir.join("checkpoints"))? {
            let p = ent?.path();
            if p.extension().and_then(|e| e.to_str()) != Some("note") {
                continue;
            }
            let bytes = fs::read(&p)?;
            let bad = |size: u64, reason: String| LogError::BadCheckpoint { size, reason };
            let body = note::verify_note(&bytes, &verifier).map_err(|e| bad(0, e.to_string()))?;
            let cp = note::parse_checkpoint(body).map_err(|e| bad(0, e.to_string()))?;
            if cp.origin != self.origin || p != cp_path(&self.dir, cp.size, "note") {
                return Err(bad(cp.size, "origin or file name differs".into()));
            }
            let root = usize::try_from(cp.size)
                .ok()
                .and_then(|s| s.checked_sub(1))
                .and_then(|i| roots.get(i));
            if root != Some(&cp.root) {
                return Err(bad(
                    cp.size,
                    "root does not match the stored entries".into(),
                ));
            }
            self.checkpoints.insert(cp.size, cp.root);
        }
        Ok(())
    }

    /// Removes files a crash left half-way: a consistency proof written just before its
    /// checkpoint note, attestation files written just before their entry. Neither is
    /// evidence yet (nothing signed refers to them); left in place they would make the
    /// bundle fail closed.
    fn remove_orphans(&self) -> Result<(), LogError> {
        for ent in fs::read_dir(self.dir.join("proofs"))? {
            let p = ent?.path();
            let size = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".consistency.json"))
                .and_then(|n| n.parse::<u64>().ok());
            if size.is_none_or(|s| !self.checkpoints.contains_key(&s)) {
                fs::remove_file(&p)?;
            }
        }
        for ent in fs::read_dir(self.dir.join("attestations"))? {
            let p = ent?.path();
            let ordinal = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('-').next())
                .and_then(|n| n.parse::<u64>().ok());
            if ordinal.is_none_or(|o| o == 0 || o > self.attestations) {
                fs::remove_file(&p)?;
            }
        }
        super::fsutil::sync_dir(&self.dir.join("proofs"))?;
        super::fsutil::sync_dir(&self.dir.join("attestations"))?;
        Ok(())
    }

    /// Updates derived state for an entry body (replay and append).
    fn note_entry(&mut self, body: &EntryBody) -> Result<(), LogError> {
        match body {
            EntryBody::KeyBound {
                participant,
                public_key,
            } => {
                let k = parse_raw_b64url(public_key).map_err(|_| LogError::BadPublicKey)?;
                self.keys.insert(participant.clone(), k);
            }
            EntryBody::MediaChunk { file, .. }
            | EntryBody::FileSealed { file, .. }
            | EntryBody::DerivedFile { file, .. }
                if !is_safe_relative_path(file) =>
            {
                return Err(LogError::UnsafePath);
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

    fn append_inner(&mut self, body: EntryBody, time: OffsetDateTime) -> Result<u64, LogError> {
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
        if let EntryBody::KeyBound { public_key, .. } = &e.body {
            parse_raw_b64url(public_key).map_err(|_| LogError::BadPublicKey)?;
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

    /// Records a participant's signed statement: checks it (canonical, this hearing, a
    /// key bound to the signer, a checkpoint of this log, `verify_strict`), stores
    /// `attestations/NNNN-<kind>.{json,sig,pub.pem}` and appends the `attestation` entry.
    pub fn record_attestation(
        &mut self,
        statement: &[u8],
        signature: &[u8],
        time: OffsetDateTime,
    ) -> Result<u64, LogError> {
        let refuse = |m: &str| LogError::Attestation(m.to_string());
        if self.closed {
            return Err(LogError::Closed);
        }
        let st = parse_statement(statement).map_err(|e| LogError::Attestation(e.to_string()))?;
        if st.hearing != self.log_id {
            return Err(refuse("statement is for another hearing"));
        }
        let key = *self
            .keys
            .get(&st.participant)
            .ok_or_else(|| refuse("no key bound to the participant"))?;
        if self.checkpoints.get(&st.checkpoint_size) != Some(&st.checkpoint_root) {
            return Err(refuse("statement names a checkpoint this log did not sign"));
        }
        let sig: [u8; 64] = signature
            .try_into()
            .map_err(|_| refuse("signature is not 64 bytes"))?;
        key.verify_strict(statement, &Signature::from_bytes(&sig))
            .map_err(|_| refuse("signature does not verify"))?;
        let [json_p, sig_p, pub_p] = attestation_paths(self.attestations + 1, &st.kind);
        for (p, b) in [
            (json_p, statement.to_vec()),
            (sig_p, sig.to_vec()),
            (pub_p, public_key_pem(&key).into_bytes()),
        ] {
            write_durable(&self.dir.join(p), &b)?;
        }
        self.append_inner(
            EntryBody::Attestation {
                kind: st.kind,
                participant: st.participant,
                statement_sha256: hex::encode(Sha256::digest(statement)),
                signature: URL_SAFE_NO_PAD.encode(sig),
            },
            time,
        )
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
    pub fn bound_key(&self, participant: &str) -> Option<VerifyingKey> {
        self.keys.get(participant).copied()
    }
}
