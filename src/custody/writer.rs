//! The custody writer thread: the only code that appends to the custody log. It takes
//! requests from a bounded queue in batches (group commit): every entry of a batch is
//! appended, then **one** fsync makes all the durable ones safe before any of their
//! requesters is answered. A signed checkpoint is coalesced: at most one per
//! `interval` (the first batch after a quiet interval gets one at once), one when the
//! log has been idle for `interval` with entries not yet covered, one on demand (an
//! export needs a checkpoint over its own entry) and one at shutdown.
//!
//! It also closes expired ranged-download sessions (their closing entries ride with the
//! next fsync) and keeps each hearing's custody *epoch* (see [`super::Custody::epoch`]).

use super::sessions::Sessions;
use super::{Appended, CustodyError, Fact, Stats};
use crate::evidence::tsa::{StampQueue, TimeStamper};
use crate::evidence::{HearingLog, ServerKey, SignedCheckpoint};
use crate::verify::entry::EntryBody;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Most requests taken in one batch.
const MAX_BATCH: usize = 512;
/// How often open sessions are looked at when nothing else happens.
const SWEEP: Duration = Duration::from_secs(1);

/// Where an answer goes: an async requester or a blocking one.
pub(super) enum Reply<T> {
    Async(tokio::sync::oneshot::Sender<T>),
    Blocking(std::sync::mpsc::SyncSender<T>),
}

impl<T> Reply<T> {
    fn send(self, v: T) {
        match self {
            Reply::Async(tx) => {
                let _ = tx.send(v);
            }
            Reply::Blocking(tx) => {
                let _ = tx.send(v);
            }
        }
    }
}

/// One entry to append.
pub(super) struct Request {
    pub fact: Fact,
    /// Answer only after an fsync (a response depends on it).
    pub durable: bool,
    pub reply: Option<Reply<Result<Appended, CustodyError>>>,
}

pub(super) enum Cmd {
    Append(Request),
    /// Sign a checkpoint over everything now (after this batch's entries).
    Checkpoint(Reply<Result<SignedCheckpoint, CustodyError>>),
    Shutdown,
}

/// Per hearing: the epoch and the export the last entry was tagged with.
pub(super) type Epochs = Arc<Mutex<HashMap<String, (u64, Option<String>)>>>;

pub(super) struct Writer {
    pub log: Arc<Mutex<HearingLog>>,
    pub key: Arc<ServerKey>,
    pub tsa: Arc<TimeStamper>,
    pub stamps: Option<StampQueue>,
    pub interval: Duration,
    pub sessions: Arc<Mutex<Sessions>>,
    pub stats: Arc<Stats>,
    pub epochs: Epochs,
}

impl Writer {
    pub fn run(self, rx: Receiver<Cmd>) {
        let mut last_cp: Option<Instant> = None;
        let mut uncovered = false;
        loop {
            let now = Instant::now();
            let mut wait = if uncovered {
                last_cp.map_or(Duration::ZERO, |t| {
                    (t + self.interval).saturating_duration_since(now)
                })
            } else {
                Duration::from_secs(3600)
            };
            let sessions_open = self.sessions.lock().map(|s| !s.is_empty()).unwrap_or(false);
            if sessions_open {
                wait = wait.min(SWEEP);
            }
            let mut batch = Vec::new();
            match rx.recv_timeout(wait) {
                Ok(c) => batch.push(c),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => batch.push(Cmd::Shutdown),
            }
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(c) => batch.push(c),
                    Err(_) => break,
                }
            }
            let shutdown = batch.iter().any(|c| matches!(c, Cmd::Shutdown));
            let closings = self
                .sessions
                .lock()
                .map(|mut s| s.close_expired(Instant::now(), shutdown))
                .unwrap_or_default();
            for c in closings {
                batch.push(Cmd::Append(Request {
                    fact: Fact::new(&c.who, &c.hearing, &c.what, "served"),
                    durable: false,
                    reply: None,
                }));
            }
            self.batch(batch, shutdown, &mut last_cp, &mut uncovered);
            if shutdown {
                return;
            }
        }
    }

    /// Appends a batch, one fsync, a checkpoint when due, then answers.
    fn batch(
        &self,
        batch: Vec<Cmd>,
        shutdown: bool,
        last_cp: &mut Option<Instant>,
        uncovered: &mut bool,
    ) {
        let Ok(mut log) = self.log.lock() else {
            for c in batch {
                fail(c, || CustodyError::Poisoned);
            }
            return;
        };
        let mut answers = Vec::new();
        let mut forced = Vec::new();
        let mut durable = false;
        for c in batch {
            match c {
                Cmd::Append(r) => {
                    let res = self.append(&mut log, &r.fact);
                    if res.is_ok() {
                        *uncovered = true;
                        durable |= r.durable;
                    }
                    answers.push((r, res));
                }
                Cmd::Checkpoint(reply) => forced.push(reply),
                Cmd::Shutdown => {}
            }
        }
        let due = last_cp.is_none_or(|t| t.elapsed() >= self.interval);
        let sign = *uncovered && (due || shutdown || !forced.is_empty());
        let mut synced: Result<(), String> = Ok(());
        let mut cp = None;
        if sign {
            match log.checkpoint(&self.key) {
                Ok(c) => {
                    self.stats.syncs.fetch_add(1, Ordering::Relaxed);
                    self.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
                    self.stamp(&log, &c);
                    *last_cp = Some(Instant::now());
                    *uncovered = false;
                    cp = Some(c);
                }
                Err(e) => synced = Err(e.to_string()),
            }
        } else if durable {
            match log.sync() {
                Ok(()) => {
                    self.stats.syncs.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => synced = Err(e.to_string()),
            }
        }
        if cp.is_none() && !forced.is_empty() && synced.is_ok() {
            // Nothing new: the newest checkpoint already covers the whole log.
            cp = match log.checkpoint(&self.key) {
                Ok(c) => Some(c),
                Err(e) => {
                    synced = Err(e.to_string());
                    None
                }
            };
        }
        drop(log);
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        for (r, res) in answers {
            let res = match (&synced, res) {
                (Err(e), Ok(_)) if r.durable => Err(CustodyError::Write(e.clone())),
                (_, res) => res,
            };
            if let Some(reply) = r.reply {
                reply.send(res);
            }
        }
        for reply in forced {
            reply.send(match (&cp, &synced) {
                (Some(c), _) => Ok(c.clone()),
                (None, Err(e)) => Err(CustodyError::Write(e.clone())),
                (None, Ok(())) => Err(CustodyError::Write("nothing to checkpoint".into())),
            });
        }
    }

    fn append(&self, log: &mut HearingLog, fact: &Fact) -> Result<Appended, CustodyError> {
        let seq = log
            .append(
                EntryBody::Retrieval {
                    user: fact.user.clone(),
                    retrieved_hearing: fact.hearing.clone(),
                    what: fact.what.clone(),
                    result: fact.result.clone(),
                },
                OffsetDateTime::now_utc(),
            )
            .map_err(|e| CustodyError::Write(e.to_string()))?;
        self.stats.entries.fetch_add(1, Ordering::Relaxed);
        let mut epochs = self.epochs.lock().map_err(|_| CustodyError::Poisoned)?;
        let e = epochs.entry(fact.hearing.clone()).or_insert((0, None));
        // A reuse of the export the previous entry made or reused leaves the state as it
        // was (that export's extract still tells it all); anything else moves it on.
        if fact.export.is_none() || fact.export != e.1 {
            e.0 += 1;
            e.1 = fact.export.clone();
        }
        Ok(Appended { seq, epoch: e.0 })
    }

    /// Built-in TSA: a local signature, at once. External: in the background.
    fn stamp(&self, log: &HearingLog, cp: &SignedCheckpoint) {
        match &self.stamps {
            Some(queue) => {
                queue.push(cp.size, cp.note.clone());
            }
            None => {
                if let Ok(token) = self.tsa.stamp(&cp.note) {
                    if let Err(e) = log.attach_timestamp(cp.size, &token) {
                        tracing::warn!(error = %e, "cannot store a custody time-stamp");
                    }
                }
            }
        }
    }
}

fn fail(c: Cmd, err: impl Fn() -> CustodyError) {
    match c {
        Cmd::Append(r) => {
            if let Some(reply) = r.reply {
                reply.send(Err(err()));
            }
        }
        Cmd::Checkpoint(reply) => reply.send(Err(err())),
        Cmd::Shutdown => {}
    }
}
