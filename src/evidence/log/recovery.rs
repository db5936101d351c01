//! What `HearingLog::open` does with what it finds on disk: replay the stored lines,
//! check the stored checkpoints against them and the key, and remove files a crash left
//! half-way.
//!
//! It must never accept a complete line or a checkpoint that does not check out.

use std::fs;

use super::{HearingLog, LogError, cp_path};
use crate::evidence::keys::ServerKey;
use crate::verify::entry;
use crate::verify::merkle::{Hash, leaf_hash};
use crate::verify::{clock, note};

impl HearingLog {
    /// Replays stored lines; returns the root at every size (index = size - 1).
    pub(super) fn replay(&mut self, bytes: &[u8]) -> Result<Vec<Hash>, LogError> {
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

    pub(super) fn load_checkpoints(
        &mut self,
        key: &ServerKey,
        roots: &[Hash],
    ) -> Result<(), LogError> {
        // Every key of the history: checkpoints before a rotation carry older keys.
        let verifiers = key.note_verifiers();
        for ent in fs::read_dir(self.dir.join("checkpoints"))? {
            let p = ent?.path();
            if p.extension().and_then(|e| e.to_str()) != Some("note") {
                continue;
            }
            let bytes = fs::read(&p)?;
            let bad = |size: u64, reason: String| LogError::BadCheckpoint { size, reason };
            let (body, _) =
                note::verify_note_any(&bytes, &verifiers).map_err(|e| bad(0, e.to_string()))?;
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
    pub(super) fn remove_orphans(&self) -> Result<(), LogError> {
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
        crate::evidence::fsutil::sync_dir(&self.dir.join("proofs"))?;
        crate::evidence::fsutil::sync_dir(&self.dir.join("attestations"))?;
        Ok(())
    }
}
