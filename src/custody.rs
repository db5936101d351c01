//! The server-wide custody log: every grant, revocation, view and download of a sealed
//! hearing's record (who, when, which bundle and its fingerprint, outcome) is appended
//! and made durable (fsynced) **before** the first byte is served, covered by a signed
//! checkpoint within [`CustodyOptions::checkpoint_interval`], and time-stamped. Same log
//! type and format as a hearing log, origin `<server>/custody`.
//!
//! Off the async runtime, group-committed: requests never touch the log themselves. They
//! queue their entry (bounded queue, [`QUEUE`]) to one writer thread ([`writer`]) and
//! wait (asynchronously) for its answer. The writer appends everything queued, fsyncs
//! once for the whole batch and only then answers, so many concurrent retrievals share
//! one fsync. Signed checkpoints are coalesced: at most one per interval while entries
//! keep coming, one when the log has been idle for the interval, one on demand (an
//! export's extract needs a checkpoint over its own entry), one at shutdown. An entry a
//! response depends on is therefore always durable before the response; if the server
//! dies before the next checkpoint, the next start covers those entries with a
//! `recovered_after_interruption` entry and a checkpoint (never lost, never silent).
//! Entries nothing is served on (a quota refusal, a session's closing summary) are
//! appended without waiting for an fsync: they ride with the next batch's.
//!
//! Ranged downloads ([`sessions`]): one durable entry opens a session per account, file
//! and window; the ranges served under it are listed in one closing entry.
//!
//! Time-stamps: with the built-in TSA a checkpoint is stamped as it is signed (a local
//! signature); with an external TSA in the background ([`StampQueue`], retries with
//! backoff): a TSA that is down must not hold downloads hostage. A later checkpoint's
//! token also covers every earlier custody entry.

mod sessions;
mod verify_dir;
mod writer;

pub use sessions::SessionKey;
pub use verify_dir::{CustodyReport, verify_dir};

use crate::evidence::convert::{CUSTODY_LOG_ID, custody_origin};
use crate::evidence::tsa::{RetryPolicy, StampQueue, TimeStamper};
use crate::evidence::{HearingLog, LogError, ServerKey, SignedCheckpoint};
use sessions::Sessions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use writer::{Cmd, Reply, Request, Writer};

/// How many requests may wait for the writer; more wait (off the runtime) to queue.
pub const QUEUE: usize = 4096;

/// How often the writer signs checkpoints, and how long a ranged session lasts.
#[derive(Debug, Clone, Copy)]
pub struct CustodyOptions {
    pub checkpoint_interval: Duration,
    pub range_session: Duration,
}

impl Default for CustodyOptions {
    fn default() -> Self {
        CustodyOptions {
            checkpoint_interval: Duration::from_secs(1),
            range_session: Duration::from_secs(600),
        }
    }
}

/// One custody fact (a `retrieval` entry).
#[derive(Debug, Clone)]
pub struct Fact {
    pub user: String,
    pub hearing: String,
    pub what: String,
    pub result: String,
    /// The export this fact makes or reuses, if any (a reuse of the export the previous
    /// entry about the hearing was about leaves its custody epoch as it was).
    pub export: Option<String>,
}

impl Fact {
    pub fn new(user: &str, hearing: &str, what: &str, result: &str) -> Fact {
        Fact {
            user: user.into(),
            hearing: hearing.into(),
            what: what.into(),
            result: result.into(),
            export: None,
        }
    }

    /// Tags the fact as an access to export `id`.
    pub fn about_export(mut self, id: &str) -> Fact {
        self.export = Some(id.into());
        self
    }
}

/// Where an appended entry landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    /// The hearing's custody epoch after it ([`Custody::epoch`]).
    pub epoch: u64,
}

/// Counters of the writer's work since start (for tests and operators).
#[derive(Debug, Default)]
pub struct Stats {
    entries: AtomicU64,
    syncs: AtomicU64,
    checkpoints: AtomicU64,
    batches: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CustodyStats {
    /// Entries appended.
    pub entries: u64,
    /// fsyncs of `entries.jsonl` (a checkpoint's included).
    pub syncs: u64,
    /// Checkpoints signed.
    pub checkpoints: u64,
    /// Batches the writer took.
    pub batches: u64,
}

/// How a ranged request was logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeLogged {
    /// A new session: its opening entry is durable.
    Opened(u64),
    /// Served under an open session's durable entry.
    Joined,
}

pub struct Custody {
    tx: SyncSender<Cmd>,
    log: Arc<Mutex<HearingLog>>,
    sessions: Arc<Mutex<Sessions>>,
    stats: Arc<Stats>,
    epochs: writer::Epochs,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
    tsa: Arc<TimeStamper>,
    dir: PathBuf,
    /// The server key history's bytes, carried by every export.
    history: Option<Vec<u8>>,
}

/// How long an export waits for an external TSA's token before it goes without one (the
/// background queue stamps the checkpoint all the same).
pub const QUICK_STAMP: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CustodyError {
    #[error("custody log: {0}")]
    Log(#[from] LogError),
    #[error("custody log: {0}")]
    Write(String),
    #[error("custody log lock poisoned")]
    Poisoned,
    #[error("the custody writer has stopped")]
    Stopped,
    #[error("cannot start a custody thread: {0}")]
    Thread(std::io::Error),
}

impl Custody {
    pub fn open(
        data_dir: &Path,
        server_name: &str,
        key: Arc<ServerKey>,
        tsa: Arc<TimeStamper>,
        options: CustodyOptions,
    ) -> Result<Custody, CustodyError> {
        let dir = crate::paths::DataPaths::new(data_dir).custody();
        let history = key.history().map(|h| h.bytes.clone());
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
        let sessions = Arc::new(Mutex::new(Sessions::new(options.range_session)));
        let stats = Arc::new(Stats::default());
        let epochs = writer::Epochs::default();
        let w = Writer {
            log: log.clone(),
            key,
            tsa: tsa.clone(),
            stamps,
            interval: options.checkpoint_interval,
            sessions: sessions.clone(),
            stats: stats.clone(),
            epochs: epochs.clone(),
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let worker = std::thread::Builder::new()
            .name("custody-writer".into())
            .spawn(move || w.run(rx))
            .map_err(CustodyError::Thread)?;
        Ok(Custody {
            tx,
            log,
            sessions,
            stats,
            epochs,
            worker: Mutex::new(Some(worker)),
            tsa,
            dir,
            history,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Queues `cmd` without blocking a runtime thread: if the queue is full, the wait
    /// for room happens on a blocking thread.
    async fn send(&self, cmd: Cmd) -> Result<(), CustodyError> {
        match self.tx.try_send(cmd) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(_)) => Err(CustodyError::Stopped),
            Err(TrySendError::Full(cmd)) => {
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || tx.send(cmd).is_ok())
                    .await
                    .map_err(|_| CustodyError::Stopped)?
                    .then_some(())
                    .ok_or(CustodyError::Stopped)
            }
        }
    }

    async fn append(&self, fact: Fact, durable: bool) -> Result<Appended, CustodyError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Cmd::Append(Request {
            fact,
            durable,
            reply: Some(Reply::Async(tx)),
        }))
        .await?;
        rx.await.map_err(|_| CustodyError::Stopped)?
    }

    fn append_blocking(&self, fact: Fact, durable: bool) -> Result<Appended, CustodyError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.tx
            .send(Cmd::Append(Request {
                fact,
                durable,
                reply: Some(Reply::Blocking(tx)),
            }))
            .map_err(|_| CustodyError::Stopped)?;
        rx.recv().map_err(|_| CustodyError::Stopped)?
    }

    /// Appends one custody fact and waits (asynchronously) until it is durable.
    pub async fn commit(&self, fact: Fact) -> Result<Appended, CustodyError> {
        let a = self.append(fact, true).await?;
        failpoint_after_append();
        Ok(a)
    }

    /// [`Custody::commit`] for blocking threads (never on a runtime thread).
    pub fn commit_blocking(&self, fact: Fact) -> Result<Appended, CustodyError> {
        let a = self.append_blocking(fact, true)?;
        failpoint_after_append();
        Ok(a)
    }

    /// Appends a fact nothing is served on (a refusal): no fsync of its own.
    pub async fn note(&self, fact: Fact) -> Result<Appended, CustodyError> {
        self.append(fact, false).await
    }

    /// [`Custody::note`] for blocking threads.
    pub fn note_blocking(&self, fact: Fact) -> Result<Appended, CustodyError> {
        self.append_blocking(fact, false)
    }

    /// Appends one custody fact and makes it durable before returning its sequence
    /// number (blocking; kept for callers outside the runtime).
    pub fn record(
        &self,
        user: &str,
        hearing: &str,
        what: &str,
        result: &str,
    ) -> Result<u64, CustodyError> {
        self.commit_blocking(Fact::new(user, hearing, what, result))
            .map(|a| a.seq)
    }

    /// Logs one ranged request of `key.target` (bytes `a..=b`): joins the account's open
    /// session of that file, or opens one with a durable entry `<target> bytes <a>-<b>
    /// session <sid>` (see [`sessions`]).
    pub async fn record_range(
        &self,
        key: SessionKey,
        who: &str,
        (a, b): (u64, u64),
    ) -> Result<RangeLogged, CustodyError> {
        {
            let mut s = self.sessions.lock().map_err(|_| CustodyError::Poisoned)?;
            if s.join(&key, a, b, Instant::now()) {
                return Ok(RangeLogged::Joined);
            }
        }
        let sid = crate::secrets::new_id()
            .chars()
            .take(12)
            .collect::<String>();
        let fact = Fact::new(
            who,
            &key.hearing,
            &format!("{} bytes {a}-{b} session {sid}", key.target),
            "served",
        );
        let appended = self.commit(fact).await?;
        let replaced = self
            .sessions
            .lock()
            .map_err(|_| CustodyError::Poisoned)?
            .opened(key, sid, who.to_owned(), a, b, Instant::now());
        if let Some(c) = replaced {
            self.note(Fact::new(&c.who, &c.hearing, &c.what, "served"))
                .await?;
        }
        Ok(RangeLogged::Opened(appended.seq))
    }

    /// Signs a checkpoint over every entry now (blocking).
    pub fn checkpoint_blocking(&self) -> Result<SignedCheckpoint, CustodyError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.tx
            .send(Cmd::Checkpoint(Reply::Blocking(tx)))
            .map_err(|_| CustodyError::Stopped)?;
        rx.recv().map_err(|_| CustodyError::Stopped)?
    }

    /// With an external TSA, one short attempt ([`QUICK_STAMP`]) to stamp `cp` now, so
    /// an export can carry its token (blocking). The built-in TSA's is already there.
    pub fn stamp_quick(&self, cp: &SignedCheckpoint) {
        if !self.tsa.is_external() || cp.path.with_extension("tsr").exists() {
            return;
        }
        if let Ok(token) = self.tsa.stamp_within(&cp.note, Some(QUICK_STAMP)) {
            if let Ok(log) = self.log.lock() {
                if let Err(e) = log.attach_timestamp(cp.size, &token) {
                    tracing::warn!(error = %e, "cannot store a custody time-stamp");
                }
            }
        }
    }

    /// Signs a checkpoint over every entry now.
    pub async fn flush(&self) -> Result<SignedCheckpoint, CustodyError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Cmd::Checkpoint(Reply::Async(tx))).await?;
        rx.await.map_err(|_| CustodyError::Stopped)?
    }

    /// The custody epoch of `hearing`: it moves on with every entry about the hearing
    /// except a reuse of the export the previous entry made or reused. An export
    /// made at epoch E is still up to date while the epoch is E (in this process).
    pub fn epoch(&self, hearing: &str) -> Option<u64> {
        self.epochs.lock().ok()?.get(hearing).map(|e| e.0)
    }

    /// What the writer has done since start.
    pub fn stats(&self) -> CustodyStats {
        CustodyStats {
            entries: self.stats.entries.load(Ordering::Relaxed),
            syncs: self.stats.syncs.load(Ordering::Relaxed),
            checkpoints: self.stats.checkpoints.load(Ordering::Relaxed),
            batches: self.stats.batches.load(Ordering::Relaxed),
        }
    }

    pub fn size(&self) -> u64 {
        self.log.lock().map(|l| l.size()).unwrap_or(0)
    }

    /// Closes open sessions, signs the final checkpoint and stops the writer (blocking;
    /// later appends fail with [`CustodyError::Stopped`]). Idempotent.
    pub fn shutdown(&self) {
        let handle = self.worker.lock().ok().and_then(|mut w| w.take());
        if let Some(h) = handle {
            let _ = self.tx.send(Cmd::Shutdown);
            let _ = h.join();
        }
    }
}

impl Drop for Custody {
    fn drop(&mut self) {
        self.shutdown();
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

impl Custody {
    /// The custody extract for `hearing` (docs/bundle-format.md §8): its entries with
    /// inclusion proofs against the newest checkpoint, read under the custody lock so
    /// entries and checkpoint agree. After [`Custody::checkpoint_blocking`] that
    /// checkpoint covers every entry appended before it.
    pub fn extract(
        &self,
        hearing: &str,
    ) -> Result<Vec<crate::custody_extract::ExtractFile>, crate::custody_extract::ExtractError>
    {
        use crate::custody_extract::{ExtractError, extract_from_dir};
        let log = self.log.lock().map_err(|_| ExtractError::Poisoned)?;
        let (size, _) = log.latest_checkpoint().ok_or(ExtractError::NoCheckpoint)?;
        let mut files = extract_from_dir(log.dir(), size, hearing)?;
        // The key history at export time: it links the sealed bundle's key to the key
        // that signed this custody checkpoint (they differ after a rotation).
        if let Some(h) = &self.history {
            files.push(crate::custody_extract::ExtractFile {
                path: crate::verify::bundle::CUSTODY_HISTORY_PATH.into(),
                bytes: h.clone(),
            });
        }
        Ok(files)
    }
}
