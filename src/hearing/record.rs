//! The hearing's evidence record while it is open: the append-only Merkle log with
//! signed checkpoints, RFC 3161 time-stamps obtained off the hearing task, the media
//! directory the recorders write into, and the sealed bundle at the end.
//!
//! Time-stamps: every signed checkpoint is pushed to the hearing's [`StampQueue`] (a
//! thread of its own, built-in or external TSA, retries with backoff); tokens come back
//! to the hearing task as [`Stamped`] and are stored next to their checkpoint. A slow or
//! failing TSA never blocks the task, media or entries; a checkpoint may be stamped
//! late. Sealing waits up to [`SEAL_STAMP_WAIT`] for the stamps still pending, then
//! closes the gate (no token is stored after that) and writes the bundle: a checkpoint
//! still unstamped then stays unstamped, which the format allows and the verifier shows.
//!
//! Layout under the data directory: `hearings/<id>/log/` (entries, checkpoints, proofs,
//! attestations), `hearings/<id>/media/` (recordings), `hearings/<id>/bundle/` and
//! `bundle.zip` (sealed). Must never rewrite an entry or a media byte already committed.

use crate::domain::HearingId;
use crate::evidence::tsa::{RetryPolicy, StampQueue, TimeStamper};
use crate::evidence::{ExtraFile, ExtraSource, HearingLog, Recovery, ServerKey, convert};
use crate::paths::{DataPaths, HearingPaths};
use crate::verify::entry::EntryBody;
use sha2::Digest;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedSender;
use tracing::{info, warn};

/// A time-stamp result for the checkpoint of `size`.
#[derive(Debug)]
pub(crate) struct Stamped {
    pub size: u64,
    pub token: Result<Vec<u8>, String>,
}

/// How long sealing waits for time-stamps still pending.
pub(crate) const SEAL_STAMP_WAIT: Duration = Duration::from_secs(15);

/// Checkpoints whose stamp is still to come, and whether the bundle is being written
/// (then no token is stored any more). Shared by the hearing task and the seal task.
#[derive(Debug, Default)]
struct StampGate {
    pending: BTreeSet<u64>,
    sealed: bool,
}

pub(crate) struct HearingRecord {
    pub log: HearingLog,
    pub dir: PathBuf,
    paths: HearingPaths,
    key: Arc<ServerKey>,
    tsa: Arc<TimeStamper>,
    queue: StampQueue,
    gate: Arc<Mutex<StampGate>>,
    last_checkpoint: u64,
    /// When the last checkpoint was made: at most one per [`MIN_CHECKPOINT_GAP`].
    last_checkpoint_at: Option<std::time::Instant>,
}

/// The fewest seconds between two checkpoints (each is a signature, an fsync and a TSA
/// request): nothing a participant sends can make them more frequent.
pub(crate) const MIN_CHECKPOINT_GAP: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) fn hearing_dir(data_dir: &Path, id: &HearingId) -> PathBuf {
    DataPaths::new(data_dir).hearing(id).dir().to_path_buf()
}

/// Where a rehearsal's scratch log lives (`<data>/rehearsals/hearings/<id>`): outside
/// the evidence store, deleted when the rehearsal closes (docs/protocol.md, Rehearsal).
pub(crate) fn rehearsal_root(data_dir: &Path) -> PathBuf {
    DataPaths::new(data_dir).rehearsals()
}

impl HearingRecord {
    /// The hearing's directory layout.
    pub fn paths(&self) -> &HearingPaths {
        &self.paths
    }

    /// Opens (or recovers after a crash) the hearing's log.
    pub fn open(
        data_dir: &Path,
        server_name: &str,
        id: &HearingId,
        key: Arc<ServerKey>,
        tsa: Arc<TimeStamper>,
        stamps: UnboundedSender<Stamped>,
    ) -> Result<(HearingRecord, Recovery), crate::evidence::LogError> {
        let paths = DataPaths::new(data_dir).hearing(id);
        let dir = paths.dir().to_path_buf();
        std::fs::create_dir_all(paths.media())?;
        let origin = convert::hearing_origin(server_name, id.as_str());
        let (log, recovery) = HearingLog::open(
            &dir.join("log"),
            id.as_str(),
            &origin,
            &key,
            OffsetDateTime::now_utc(),
        )?;
        let last_checkpoint = log.latest_checkpoint().map(|(s, _)| s).unwrap_or(0);
        if recovery.interrupted() {
            warn!(hearing = %id, "hearing log recovered after an interruption");
        }
        // Outcomes go back to the hearing task; the thread ends with the task.
        let queue = StampQueue::start(
            tsa.clone(),
            RetryPolicy::default(),
            "hearing",
            move |size, token| stamps.send(Stamped { size, token }).is_ok(),
        )?;
        let mut record = HearingRecord {
            log,
            dir,
            paths,
            key,
            tsa,
            queue,
            gate: Default::default(),
            last_checkpoint,
            last_checkpoint_at: None,
        };
        record.restamp_unstamped();
        Ok((record, recovery))
    }

    /// After a restart: checkpoints signed before it whose stamp never came (the TSA was
    /// down, or the server stopped first) are queued again; a late token is still proof
    /// that the entries existed by its time.
    fn restamp_unstamped(&mut self) {
        let cps = self.dir.join("log").join("checkpoints");
        let Ok(dir) = std::fs::read_dir(&cps) else {
            return;
        };
        let mut notes: Vec<(u64, PathBuf)> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "note"))
            .filter(|p| !p.with_extension("tsr").exists())
            .filter_map(|p| {
                let size = p.file_stem()?.to_str()?.parse().ok()?;
                Some((size, p))
            })
            .collect();
        notes.sort();
        for (size, path) in notes {
            if let Ok(note) = std::fs::read(&path) {
                self.request_stamp(size, note);
            }
        }
    }

    /// After a crash: media files the log committed to but never sealed are cut back to
    /// their last committed byte (the uncommitted tail is never silently accepted; the
    /// recorder closes a cluster at every chunk, so the cut file is a playable prefix)
    /// and sealed. Returns how many files were sealed this way.
    pub fn seal_orphans(&mut self) -> usize {
        let Ok(entries) = std::fs::read(self.dir.join("log").join("entries.jsonl")) else {
            return 0;
        };
        let mut committed: std::collections::BTreeMap<String, u64> = Default::default();
        let mut sealed: std::collections::BTreeSet<String> = Default::default();
        for line in entries.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            let file = v["file"].as_str().unwrap_or_default().to_owned();
            match v["type"].as_str() {
                Some("media_chunk") => {
                    let end = v["offset"]
                        .as_u64()
                        .unwrap_or(0)
                        .saturating_add(v["length"].as_u64().unwrap_or(0));
                    let e = committed.entry(file).or_default();
                    *e = (*e).max(end);
                }
                Some("file_sealed") => {
                    sealed.insert(file);
                }
                _ => {}
            }
        }
        let mut n = 0;
        for (file, len) in committed.into_iter().filter(|(f, _)| !sealed.contains(f)) {
            let path = self.media_dir().join(&file);
            let cut = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| {
                    if f.metadata()?.len() > len {
                        f.set_len(len)?;
                    }
                    f.sync_all()
                });
            let digest = cut
                .and_then(|_| std::fs::read(&path))
                .map(|b| (b.len() as u64, sha2::Sha256::digest(&b)));
            match digest {
                Ok((length, sha)) if length == len => {
                    let sha256 = hex::encode(sha);
                    self.append(EntryBody::FileSealed {
                        file,
                        length,
                        sha256,
                    });
                    n += 1;
                }
                _ => warn!("a committed media file is missing or shorter than committed"),
            }
        }
        n
    }

    pub fn media_dir(&self) -> PathBuf {
        self.dir.join("media")
    }

    /// Appends an entry; a failure is logged (the hearing goes on) and reported.
    pub fn append(&mut self, body: EntryBody) -> bool {
        let kind = body.type_name();
        match self.log.append(body, OffsetDateTime::now_utc()) {
            Ok(_) => true,
            Err(e) => {
                warn!(entry = kind, error = %e, "evidence log append failed");
                false
            }
        }
    }

    /// Signs a checkpoint if entries were added since the last one, and has it
    /// time-stamped asynchronously (never stalling the hearing). Returns (size, root).
    /// Whether a checkpoint may be made now (see [`MIN_CHECKPOINT_GAP`]).
    pub fn checkpoint_allowed(&self) -> bool {
        self.last_checkpoint_at
            .is_none_or(|t| t.elapsed() >= MIN_CHECKPOINT_GAP)
    }

    pub fn checkpoint(&mut self) -> Option<(u64, [u8; 32])> {
        let size = self.log.size();
        if size == 0 || size == self.last_checkpoint {
            return None;
        }
        match self.log.checkpoint(&self.key) {
            Ok(cp) => {
                self.last_checkpoint = cp.size;
                self.last_checkpoint_at = Some(std::time::Instant::now());
                self.request_stamp(cp.size, cp.note.clone());
                Some((cp.size, cp.root))
            }
            Err(e) => {
                warn!(error = %e, "checkpoint failed");
                None
            }
        }
    }

    /// Queues the checkpoint of `size` for stamping in the background.
    fn request_stamp(&mut self, size: u64, note: Vec<u8>) {
        let mut gate = self.gate.lock().unwrap_or_else(|p| p.into_inner());
        if gate.sealed || !gate.pending.insert(size) {
            return;
        }
        if !self.queue.push(size, note) {
            gate.pending.remove(&size);
            warn!(
                size,
                "the time-stamping thread has ended; checkpoint left unstamped"
            );
        }
    }

    /// Stores a token that came back from the stamping thread (already verified over
    /// the note with the TSA chain), unless the bundle is being written.
    pub fn attach_stamp(&mut self, s: Stamped) {
        let mut gate = self.gate.lock().unwrap_or_else(|p| p.into_inner());
        gate.pending.remove(&s.size);
        match s.token {
            Ok(_) if gate.sealed => {
                warn!(
                    size = s.size,
                    "a time-stamp arrived after sealing; not stored"
                );
            }
            Ok(token) => {
                if let Err(e) = self.log.attach_timestamp(s.size, &token) {
                    warn!(error = %e, "cannot store a time-stamp token");
                }
            }
            Err(e) => warn!(size = s.size, error = %e, "time-stamping failed"),
        }
    }

    /// Makes sure the final checkpoint (of `size`) has a stamp stored or on its way;
    /// [`HearingRecord::seal`] then waits for it (bounded). Never blocks.
    pub fn stamp_now(&mut self, size: u64) {
        let cps = self.dir.join("log").join("checkpoints");
        if cps.join(format!("{size:06}.tsr")).exists() {
            return;
        }
        let Ok(note) = std::fs::read(cps.join(format!("{size:06}.note"))) else {
            return;
        };
        self.request_stamp(size, note);
    }

    /// Writes the sealed bundle (directory + zip) on a blocking thread, then starts
    /// archiving the hearing's sealed files to `blobs` in the background (when
    /// `[storage]` names an object store; a failure there is logged and leaves the
    /// bundle sealed: `App::build` archives it at the next start).
    pub fn seal(
        &self,
        extra_minutes: Option<(Vec<u8>, Vec<u8>)>,
        derived: Vec<(String, PathBuf)>,
        blobs: Arc<crate::blobs::Blobs>,
    ) -> tokio::task::JoinHandle<Result<crate::evidence::BundleInfo, String>> {
        let log_dir = self.paths.log();
        let media_dir = self.media_dir();
        let out = self.paths.bundle();
        let paths = self.paths.clone();
        let runtime = tokio::runtime::Handle::current();
        let key = self.key.clone();
        let gate = self.gate.clone();
        let stop = self.queue.stop_handle();
        let tsa = self.tsa.clone();
        let mut extra = Vec::new();
        if let Some((html, sig)) = extra_minutes {
            extra.push(ExtraFile {
                path: "minutes/minutes.html".into(),
                source: ExtraSource::Bytes(html),
            });
            extra.push(ExtraFile {
                path: "minutes/minutes.sig".into(),
                source: ExtraSource::Bytes(sig),
            });
        }
        for (path, file) in derived {
            extra.push(ExtraFile {
                path,
                source: ExtraSource::File(file),
            });
        }
        tokio::task::spawn_blocking(move || {
            close_stamp_gate(&gate, SEAL_STAMP_WAIT);
            stop.stop();
            // The tokens are fixed now: the chain that verifies all of them.
            let chain = tsa.chain_for(&log_dir.join("checkpoints"));
            extra.insert(
                0,
                ExtraFile {
                    path: "tsa/chain.pem".into(),
                    source: ExtraSource::Bytes(chain.into_bytes()),
                },
            );
            let info = crate::evidence::write_bundle(&log_dir, &media_dir, &key, &extra, &out)
                .map_err(|e| e.to_string())?;
            info!(files = info.files, "bundle sealed");
            // The first archive time-stamp (RFC 4998 evidence record) over the sealed
            // files. A TSA that is down now leaves the bundle without one: `sworn archive
            // renew --hearing <id>` makes it later, from then on.
            match crate::evidence::archive::create(
                &out,
                tsa.as_ref(),
                crate::verify::hash_alg::HashAlg::Sha256,
            ) {
                Ok(o) => info!(record = %o.summary.describe(), "evidence record made"),
                Err(e) => tracing::warn!(
                    error = %e,
                    "bundle sealed without an evidence record; `sworn archive renew --hearing` makes it"
                ),
            }
            // The portal's report, computed once now (it never changes after seal).
            if let Err(e) = crate::evidence::report_cache::refresh(&out, &key) {
                tracing::warn!(error = %e, "bundle report not cached");
            }
            // Archived in the background: the hearing is sealed (and its bundle served
            // from the local copy) whatever the object store does meanwhile.
            runtime.spawn(async move { crate::blobs::ship_and_log(&blobs, &paths).await });
            Ok(info)
        })
    }
}

/// Waits until no stamp is pending or `wait` has passed, then closes the gate: from then
/// on no token is stored, so the bundle writer sees a fixed set of files.
fn close_stamp_gate(gate: &Mutex<StampGate>, wait: Duration) {
    let until = std::time::Instant::now() + wait;
    loop {
        let mut g = gate.lock().unwrap_or_else(|p| p.into_inner());
        if g.pending.is_empty() || std::time::Instant::now() >= until {
            if !g.pending.is_empty() {
                warn!(
                    unstamped = g.pending.len(),
                    "sealing with checkpoints whose time-stamp did not come in time"
                );
            }
            g.sealed = true;
            return;
        }
        drop(g);
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::tsa::TsaIdentity;

    /// A checkpoint signed before a restart but never stamped is stamped after it.
    #[test]
    fn unstamped_checkpoints_are_stamped_after_a_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path();
        let id = HearingId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let key =
            Arc::new(ServerKey::load_or_create(&data.join("server.key"), "sworn.test").unwrap());
        let identity =
            TsaIdentity::create(&data.join("tsa"), std::time::SystemTime::now()).unwrap();
        let chain = identity.chain_pem();
        let tsa = Arc::new(TimeStamper::configure(identity, None).unwrap());
        // Before the "crash": two checkpoints, no token (the TSA never answered).
        let log_dir = hearing_dir(data, &id).join("log");
        let origin = convert::hearing_origin("sworn.test", id.as_str());
        {
            let (mut log, _) = HearingLog::open(
                &log_dir,
                id.as_str(),
                &origin,
                &key,
                OffsetDateTime::now_utc(),
            )
            .unwrap();
            for n in 0..2 {
                log.append(
                    EntryBody::Marker {
                        label: format!("m{n}"),
                        by: None,
                    },
                    OffsetDateTime::now_utc(),
                )
                .unwrap();
                log.checkpoint(&key).unwrap();
            }
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (mut rec, _) = HearingRecord::open(data, "sworn.test", &id, key, tsa, tx).unwrap();
        let mut sizes = Vec::new();
        for _ in 0..2 {
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            let s = loop {
                if let Ok(s) = rx.try_recv() {
                    break s;
                }
                assert!(std::time::Instant::now() < deadline, "no stamp came");
                std::thread::sleep(Duration::from_millis(20));
            };
            let token = s.token.clone().unwrap();
            let note =
                std::fs::read(log_dir.join(format!("checkpoints/{:06}.note", s.size))).unwrap();
            crate::verify::timestamp::verify_token(&token, &note, chain.as_bytes()).unwrap();
            sizes.push(s.size);
            rec.attach_stamp(s);
        }
        sizes.sort();
        assert_eq!(sizes, vec![1, 2]);
        for size in sizes {
            assert!(log_dir.join(format!("checkpoints/{size:06}.tsr")).is_file());
        }
    }
}
