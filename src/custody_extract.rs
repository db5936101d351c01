//! The custody extract an export carries (`custody/` in an exported bundle, spec in
//! docs/bundle-format.md §8): the custody-log entries about one hearing, exact bytes, each
//! with an RFC 9162 inclusion proof to one signed custody checkpoint, plus that
//! checkpoint's time-stamp token. [`zip_tail`] appends those files to a sealed bundle zip
//! without copying it.
//!
//! Pure over bytes the caller read (under the custody lock, so entries and checkpoint
//! agree). It must never re-encode an entry: the extract holds the stored bytes.

pub mod zip_tail;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::verify::bundle::{
    CHECKPOINT_NOTE, CHECKPOINT_TSR, CUSTODY_LOG_ID, InclusionFile, entry_path, proof_path,
};
use crate::verify::canonical;
use crate::verify::entry::{self, EntryBody};
use crate::verify::merkle;
use crate::verify::note;

/// One file of the extract: its path in the bundle and its exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractFile {
    /// `custody/...`.
    pub path: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// Why an extract could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// Reading the custody log failed.
    #[error("custody log: {0}")]
    Io(#[from] std::io::Error),
    /// The custody lock was poisoned.
    #[error("custody log lock poisoned")]
    Poisoned,
    /// The custody log has no checkpoint yet.
    #[error("the custody log has no checkpoint")]
    NoCheckpoint,
    /// The stored checkpoint or entries are not what the log promises.
    #[error("custody log inconsistent: {0}")]
    Inconsistent(String),
    /// No custody entry is about this hearing.
    #[error("no custody entry about this hearing")]
    NoEntries,
}

/// Size and root of a stored checkpoint note (its signature was made by this server;
/// the verifier checks it).
fn note_checkpoint(note_bytes: &[u8]) -> Result<note::Checkpoint, ExtractError> {
    let bad = |m: &str| ExtractError::Inconsistent(format!("checkpoint note: {m}"));
    let text = std::str::from_utf8(note_bytes).map_err(|_| bad("not UTF-8"))?;
    let split = text.rfind("\n\n").ok_or_else(|| bad("no signature"))?;
    let body = text.get(..=split).ok_or_else(|| bad("no body"))?;
    note::parse_checkpoint(body).map_err(|e| bad(&e.to_string()))
}

/// RFC 9162 inclusion proofs for many leaves of one tree, each subtree root of 64 or more
/// leaves computed once (a proof per entry with `merkle::inclusion_proof` would rehash
/// the whole log each time).
struct Tree<'a> {
    leaves: &'a [merkle::Hash],
    memo: std::collections::HashMap<(usize, usize), merkle::Hash>,
}

/// Subtrees at least this large are remembered.
const MEMO_MIN: usize = 64;

impl Tree<'_> {
    /// Largest power of two strictly below `n` (n >= 2).
    fn split(n: usize) -> usize {
        let mut k = 1usize;
        while k << 1 < n {
            k <<= 1;
        }
        k
    }

    fn root(&mut self, start: usize, len: usize) -> Result<merkle::Hash, ExtractError> {
        let leaf = |i: usize| {
            self.leaves
                .get(i)
                .copied()
                .ok_or_else(|| ExtractError::Inconsistent("leaf index".into()))
        };
        if len <= 1 {
            return leaf(start);
        }
        if let Some(h) = self.memo.get(&(start, len)) {
            return Ok(*h);
        }
        let k = Self::split(len);
        let h = merkle::node_hash(&self.root(start, k)?, &self.root(start + k, len - k)?);
        if len >= MEMO_MIN {
            self.memo.insert((start, len), h);
        }
        Ok(h)
    }

    fn inclusion_proof(&mut self, index: u64) -> Result<Vec<merkle::Hash>, ExtractError> {
        let mut m = usize::try_from(index)
            .ok()
            .filter(|m| *m < self.leaves.len())
            .ok_or_else(|| ExtractError::Inconsistent("leaf index".into()))?;
        // Walk down from the whole tree, collecting siblings; the proof lists them from
        // the leaf up.
        let (mut start, mut len) = (0usize, self.leaves.len());
        let mut path = Vec::new();
        while len > 1 {
            let k = Self::split(len);
            if m < k {
                path.push(self.root(start + k, len - k)?);
                len = k;
            } else {
                path.push(self.root(start, k)?);
                start += k;
                m -= k;
                len -= k;
            }
        }
        path.reverse();
        Ok(path)
    }
}

/// Builds the extract for `hearing` from the custody log's `entries.jsonl` bytes, the
/// note of its newest checkpoint (which must cover a prefix of those entries) and that
/// note's token, if any. Entries beyond the checkpoint are left out.
pub fn build_extract(
    entries_jsonl: &[u8],
    checkpoint_note: &[u8],
    checkpoint_tsr: Option<&[u8]>,
    hearing: &str,
) -> Result<Vec<ExtractFile>, ExtractError> {
    let cp = note_checkpoint(checkpoint_note)?;
    let size = usize::try_from(cp.size)
        .map_err(|_| ExtractError::Inconsistent("checkpoint size".into()))?;
    let body = entries_jsonl.strip_suffix(b"\n").unwrap_or(entries_jsonl);
    let lines: Vec<&[u8]> = if body.is_empty() {
        Vec::new()
    } else {
        body.split(|b| *b == b'\n').take(size).collect()
    };
    if lines.len() != size {
        return Err(ExtractError::Inconsistent(format!(
            "checkpoint covers {size} entries, the log has {}",
            lines.len()
        )));
    }
    let leaves: Vec<merkle::Hash> = lines.iter().map(|l| merkle::leaf_hash(l)).collect();
    if merkle::root(&leaves) != cp.root {
        return Err(ExtractError::Inconsistent(
            "checkpoint root is not the root of the entries".into(),
        ));
    }
    let mut tree = Tree {
        leaves: &leaves,
        memo: std::collections::HashMap::new(),
    };
    let mut out = Vec::new();
    // Canonical JSON writes the field exactly so: only those lines are parsed.
    let needle = {
        let mut n = b"\"retrieved_hearing\":".to_vec();
        n.extend_from_slice(
            &serde_json::to_vec(hearing).map_err(|e| ExtractError::Inconsistent(e.to_string()))?,
        );
        n
    };
    for (seq, line) in lines.iter().enumerate() {
        if !line.windows(needle.len()).any(|w| w == needle.as_slice()) {
            continue;
        }
        let Ok(e) = entry::decode(line) else {
            continue;
        };
        let about = matches!(&e.body, EntryBody::Retrieval { retrieved_hearing, .. } if retrieved_hearing == hearing);
        if !about || e.hearing != CUSTODY_LOG_ID || e.seq != seq as u64 {
            continue;
        }
        let proof = tree.inclusion_proof(e.seq)?;
        let file = InclusionFile {
            leaf_index: e.seq,
            proof: proof.iter().map(|h| STANDARD.encode(h)).collect(),
            root: STANDARD.encode(cp.root),
            tree_size: cp.size,
        };
        let value = serde_json::to_value(&file)
            .map_err(|err| ExtractError::Inconsistent(err.to_string()))?;
        let proof_bytes = canonical::to_canonical(&value)
            .map_err(|err| ExtractError::Inconsistent(err.to_string()))?;
        out.push(ExtractFile {
            path: entry_path(e.seq),
            bytes: line.to_vec(),
        });
        out.push(ExtractFile {
            path: proof_path(e.seq),
            bytes: proof_bytes,
        });
    }
    if out.is_empty() {
        return Err(ExtractError::NoEntries);
    }
    out.push(ExtractFile {
        path: CHECKPOINT_NOTE.into(),
        bytes: checkpoint_note.to_vec(),
    });
    if let Some(tsr) = checkpoint_tsr {
        out.push(ExtractFile {
            path: CHECKPOINT_TSR.into(),
            bytes: tsr.to_vec(),
        });
    }
    Ok(out)
}

/// Reads a custody log directory (`entries.jsonl`, `checkpoints/NNNNNN.note|.tsr`) and
/// builds the extract against the checkpoint of `size`. The caller holds the log's lock.
pub fn extract_from_dir(
    dir: &std::path::Path,
    size: u64,
    hearing: &str,
) -> Result<Vec<ExtractFile>, ExtractError> {
    let entries = std::fs::read(dir.join("entries.jsonl"))?;
    let cp = dir.join("checkpoints").join(format!("{size:06}.note"));
    let note_bytes = std::fs::read(&cp)?;
    let tsr = match std::fs::read(cp.with_extension("tsr")) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    build_extract(&entries, &note_bytes, tsr.as_deref(), hearing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_proofs_equal_the_reference_proofs() {
        for n in [1usize, 2, 3, 5, 63, 64, 65, 100, 257, 1000] {
            let leaves: Vec<merkle::Hash> = (0..n)
                .map(|i| merkle::leaf_hash(&i.to_le_bytes()))
                .collect();
            let mut tree = Tree {
                leaves: &leaves,
                memo: std::collections::HashMap::new(),
            };
            for i in (0..n as u64).step_by(7).chain([n as u64 - 1]) {
                let want = merkle::inclusion_proof(&leaves, i).unwrap();
                assert_eq!(tree.inclusion_proof(i).unwrap(), want, "n={n} i={i}");
                merkle::verify_inclusion(
                    i,
                    n as u64,
                    &leaves[i as usize],
                    &want,
                    &merkle::root(&leaves),
                )
                .unwrap();
            }
            assert!(tree.inclusion_proof(n as u64).is_err());
        }
    }
}
