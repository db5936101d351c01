//! `sworn custody verify`: checks a custody log directory from its raw bytes. Strict: the
//! newest checkpoint must cover every entry, so run it on a stopped server's directory
//! (the server signs a final checkpoint at shutdown, or covers a crash's tail with
//! `recovered_after_interruption` at the next start), or after the coalescing interval.

use std::path::Path;

/// What `sworn custody verify` found.
#[derive(Debug)]
pub struct CustodyReport {
    pub entries: u64,
    pub checkpoints: usize,
    pub timestamps: usize,
}

/// Checks a custody log directory from its raw bytes: every entry canonical and in
/// sequence, every checkpoint signed by one of `verifiers` (the server's key history) with the root of the entries it covers,
/// the newest checkpoint covering every entry, every time-stamp token over its note.
pub fn verify_dir(
    dir: &Path,
    verifiers: &[crate::verify::keys::NoteVerifier],
    tsa_chain_pem: &[u8],
) -> Result<CustodyReport, String> {
    use crate::verify::{canonical, merkle, note};
    let bytes = std::fs::read(dir.join("entries.jsonl"))
        .map_err(|e| format!("cannot read entries.jsonl: {e}"))?;
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    let mut leaves = Vec::new();
    if !body.is_empty() {
        for (i, line) in body.split(|b| *b == b'\n').enumerate() {
            if !canonical::is_canonical(line) {
                return Err(format!("entry {i} is not canonical JSON"));
            }
            let v: serde_json::Value =
                serde_json::from_slice(line).map_err(|_| format!("entry {i} is not JSON"))?;
            if v["seq"].as_u64() != Some(i as u64) {
                return Err(format!("entry {i} has seq {}", v["seq"]));
            }
            if !matches!(
                v["type"].as_str(),
                Some("retrieval" | "recovered_after_interruption")
            ) {
                return Err(format!("entry {i} is not a custody entry"));
            }
            leaves.push(merkle::leaf_hash(line));
        }
    }
    let mut checkpoints = 0;
    let mut timestamps = 0;
    let mut largest = 0u64;
    let mut paths: Vec<_> = std::fs::read_dir(dir.join("checkpoints"))
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    paths.sort();
    for p in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "note"))
    {
        let note_bytes = std::fs::read(p).map_err(|e| e.to_string())?;
        let (text, _) = note::verify_note_any(&note_bytes, verifiers)
            .map_err(|e| format!("{}: {e}", p.display()))?;
        let cp = note::parse_checkpoint(text).map_err(|e| format!("{}: {e}", p.display()))?;
        let n = usize::try_from(cp.size).map_err(|_| "size".to_owned())?;
        let covered = leaves.get(..n).ok_or_else(|| {
            format!(
                "{}: covers {} entries, the log has {}",
                p.display(),
                cp.size,
                leaves.len()
            )
        })?;
        if merkle::root(covered) != cp.root {
            return Err(format!("{}: root does not match the entries", p.display()));
        }
        largest = largest.max(cp.size);
        checkpoints += 1;
        let tsr = p.with_extension("tsr");
        if let Ok(token) = std::fs::read(&tsr) {
            crate::verify::timestamp::verify_token(&token, &note_bytes, tsa_chain_pem)
                .map_err(|e| format!("{}: {e}", tsr.display()))?;
            timestamps += 1;
        }
    }
    if largest != leaves.len() as u64 {
        return Err(format!(
            "the newest checkpoint covers {largest} of {} entries",
            leaves.len()
        ));
    }
    Ok(CustodyReport {
        entries: leaves.len() as u64,
        checkpoints,
        timestamps,
    })
}
