//! The server-wide custody log: every grant, revocation, view and download of a sealed
//! hearing's record (who, when, which bundle and its fingerprint, outcome) is appended,
//! checkpointed (signed, fsynced) **before** the first byte is served, and time-stamped.
//! Same log type and format as a hearing log, origin `<server>/custody`.
//!
//! Time-stamps: with the built-in TSA the checkpoint is stamped synchronously, before
//! `record` returns (a local signature, milliseconds). With an external TSA the fact is
//! durable before the first byte is served all the same (entry appended, checkpoint
//! signed and fsynced), and one short attempt ([`QUICK_STAMP`]) is made at once unless
//! the TSA's last attempt failed; if that attempt fails or is skipped, the checkpoint is
//! stamped in the background ([`StampQueue`], retries with backoff) and the retrieval
//! goes ahead unstamped for now: a TSA that is down must not hold downloads (or the HTTP
//! server's runtime threads) hostage. A later checkpoint's token also covers every
//! earlier custody entry.

use crate::evidence::convert::{CUSTODY_LOG_ID, custody_origin};
use crate::evidence::tsa::{RetryPolicy, StampQueue, TimeStamper};
use crate::evidence::{HearingLog, LogError, ServerKey};
use crate::verify::entry::EntryBody;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// How long `record` waits for an external TSA before leaving the stamp to the
/// background queue.
pub const QUICK_STAMP: std::time::Duration = std::time::Duration::from_secs(2);

pub struct Custody {
    log: Arc<Mutex<HearingLog>>,
    key: Arc<ServerKey>,
    tsa: Arc<TimeStamper>,
    /// Background stamping (external TSA only).
    stamps: Option<StampQueue>,
    dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CustodyError {
    #[error("custody log: {0}")]
    Log(#[from] LogError),
    #[error("custody log lock poisoned")]
    Poisoned,
    #[error("cannot start the custody time-stamping thread: {0}")]
    Thread(std::io::Error),
}

impl Custody {
    pub fn open(
        data_dir: &Path,
        server_name: &str,
        key: Arc<ServerKey>,
        tsa: Arc<TimeStamper>,
    ) -> Result<Custody, CustodyError> {
        let dir = data_dir.join("custody");
        let (log, _) = HearingLog::open(
            &dir,
            CUSTODY_LOG_ID,
            &custody_origin(server_name),
            &key,
            OffsetDateTime::now_utc(),
        )?;
        let log = Arc::new(Mutex::new(log));
        let stamps = if tsa.is_external() {
            let target = Arc::downgrade(&log);
            let queue = StampQueue::start(
                tsa.clone(),
                RetryPolicy::default(),
                "custody",
                move |size, token| {
                    let Some(log) = target.upgrade() else {
                        return false;
                    };
                    match (token, log.lock()) {
                        (Ok(token), Ok(log)) => {
                            if let Err(e) = log.attach_timestamp(size, &token) {
                                tracing::warn!(error = %e, "cannot store a custody time-stamp");
                            }
                        }
                        (Err(e), _) => {
                            tracing::warn!(size, error = %e, "custody checkpoint left unstamped")
                        }
                        (_, Err(_)) => return false,
                    }
                    true
                },
            )
            .map_err(CustodyError::Thread)?;
            Some(queue)
        } else {
            None
        };
        Ok(Custody {
            log,
            key,
            tsa,
            stamps,
            dir,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends one custody fact and makes it durable (signed checkpoint, fsync) before
    /// returning its sequence number; time-stamped before returning with the built-in
    /// TSA, in the background with an external one (see the module doc).
    pub fn record(
        &self,
        user: &str,
        hearing: &str,
        what: &str,
        result: &str,
    ) -> Result<u64, CustodyError> {
        let mut log = self.log.lock().map_err(|_| CustodyError::Poisoned)?;
        let seq = log.append(
            EntryBody::Retrieval {
                user: user.into(),
                retrieved_hearing: hearing.into(),
                what: what.into(),
                result: result.into(),
            },
            OffsetDateTime::now_utc(),
        )?;
        let cp = log.checkpoint(&self.key)?;
        match &self.stamps {
            Some(queue) => {
                let quick = (!queue.tsa_failing())
                    .then(|| self.tsa.stamp_within(&cp.note, Some(QUICK_STAMP)).ok())
                    .flatten();
                match quick {
                    Some(token) => {
                        if let Err(e) = log.attach_timestamp(cp.size, &token) {
                            tracing::warn!(error = %e, "cannot store a custody time-stamp");
                        }
                    }
                    None => {
                        queue.push(cp.size, cp.note.clone());
                    }
                }
            }
            None => {
                if let Ok(token) = self.tsa.stamp(&cp.note) {
                    let _ = log.attach_timestamp(cp.size, &token);
                }
            }
        }
        failpoint_after_append();
        Ok(seq)
    }

    pub fn size(&self) -> u64 {
        self.log.lock().map(|l| l.size()).unwrap_or(0)
    }
}

/// Test-only crash point (issue #5): with `SWORN_FAILPOINT=custody-after-append` in the
/// environment (read once), a debug build kills its own process with SIGKILL right after a
/// custody fact is durable and before any response is built, so a test can show the entry
/// survives a crash at that moment. Compiled only under `debug_assertions`; a release
/// build has an empty function and never reads the variable.
#[cfg(debug_assertions)]
fn failpoint_after_append() {
    static ARMED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let armed = *ARMED.get_or_init(|| {
        std::env::var("SWORN_FAILPOINT").is_ok_and(|v| v == "custody-after-append")
    });
    if armed {
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status();
        // Only reached if `kill` could not run: still die without answering.
        std::process::abort();
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
fn failpoint_after_append() {}

/// What `sworn custody verify` found.
#[derive(Debug)]
pub struct CustodyReport {
    pub entries: u64,
    pub checkpoints: usize,
    pub timestamps: usize,
}

/// Checks a custody log directory from its raw bytes: every entry canonical and in
/// sequence, every checkpoint signed by `key` with the root of the entries it covers,
/// the newest checkpoint covering every entry, every time-stamp token over its note.
pub fn verify_dir(
    dir: &Path,
    key: &ed25519_dalek::VerifyingKey,
    name: &str,
    tsa_chain_pem: &[u8],
) -> Result<CustodyReport, String> {
    use crate::verify::{canonical, keys, merkle, note};
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
    let verifier = keys::NoteVerifier {
        name: name.to_owned(),
        key_id: keys::key_id(name, key),
        key: *key,
    };
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
        let text = note::verify_note(&note_bytes, &verifier)
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

impl Custody {
    /// The custody extract for `hearing` (docs/bundle-format.md §8): its entries with
    /// inclusion proofs against the newest checkpoint, read under the custody lock so
    /// entries and checkpoint agree. After [`Custody::record`] that checkpoint covers
    /// the whole log.
    pub fn extract(
        &self,
        hearing: &str,
    ) -> Result<Vec<crate::custody_extract::ExtractFile>, crate::custody_extract::ExtractError>
    {
        use crate::custody_extract::{ExtractError, extract_from_dir};
        let log = self.log.lock().map_err(|_| ExtractError::Poisoned)?;
        let (size, _) = log.latest_checkpoint().ok_or(ExtractError::NoCheckpoint)?;
        extract_from_dir(log.dir(), size, hearing)
    }
}
