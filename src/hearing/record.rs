//! The hearing's evidence record while it is open: the append-only Merkle log with
//! signed checkpoints, RFC 3161 time-stamps obtained off the hearing task, the media
//! directory the recorders write into, and the sealed bundle at the end.
//!
//! Layout under the data directory: `hearings/<id>/log/` (entries, checkpoints, proofs,
//! attestations), `hearings/<id>/media/` (recordings), `hearings/<id>/bundle/` and
//! `bundle.zip` (sealed). Must never rewrite an entry or a media byte already committed.

use crate::domain::HearingId;
use crate::evidence::tsa::TsaIdentity;
use crate::evidence::{ExtraFile, ExtraSource, HearingLog, Recovery, ServerKey, convert};
use crate::verify::entry::EntryBody;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedSender;
use tracing::{info, warn};

/// A time-stamp result for the checkpoint of `size`.
#[derive(Debug)]
pub(crate) struct Stamped {
    pub size: u64,
    pub token: Result<Vec<u8>, String>,
}

pub(crate) struct HearingRecord {
    pub log: HearingLog,
    pub dir: PathBuf,
    key: Arc<ServerKey>,
    tsa: Arc<TsaIdentity>,
    stamps: UnboundedSender<Stamped>,
    last_checkpoint: u64,
}

pub(crate) fn hearing_dir(data_dir: &Path, id: &HearingId) -> PathBuf {
    data_dir.join("hearings").join(id.as_str())
}

impl HearingRecord {
    /// Opens (or recovers after a crash) the hearing's log.
    pub fn open(
        data_dir: &Path,
        server_name: &str,
        id: &HearingId,
        key: Arc<ServerKey>,
        tsa: Arc<TsaIdentity>,
        stamps: UnboundedSender<Stamped>,
    ) -> Result<(HearingRecord, Recovery), crate::evidence::LogError> {
        let dir = hearing_dir(data_dir, id);
        std::fs::create_dir_all(dir.join("media"))?;
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
        Ok((
            HearingRecord {
                log,
                dir,
                key,
                tsa,
                stamps,
                last_checkpoint,
            },
            recovery,
        ))
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
    pub fn checkpoint(&mut self) -> Option<(u64, [u8; 32])> {
        let size = self.log.size();
        if size == 0 || size == self.last_checkpoint {
            return None;
        }
        match self.log.checkpoint(&self.key) {
            Ok(cp) => {
                self.last_checkpoint = cp.size;
                let tsa = self.tsa.clone();
                let tx = self.stamps.clone();
                let note = cp.note.clone();
                let size = cp.size;
                tokio::task::spawn_blocking(move || {
                    let mut token = Err(String::new());
                    for attempt in 0..3u32 {
                        token = tsa
                            .stamp(&note, std::time::SystemTime::now())
                            .map_err(|e| e.to_string());
                        if token.is_ok() {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(200 << attempt));
                    }
                    let _ = tx.send(Stamped { size, token });
                });
                Some((cp.size, cp.root))
            }
            Err(e) => {
                warn!(error = %e, "checkpoint failed");
                None
            }
        }
    }

    pub fn attach_stamp(&mut self, s: Stamped) {
        match s.token {
            Ok(token) => {
                if let Err(e) = self.log.attach_timestamp(s.size, &token) {
                    warn!(error = %e, "cannot store a time-stamp token");
                }
            }
            Err(e) => warn!(size = s.size, error = %e, "time-stamping failed"),
        }
    }

    /// Stamps the final checkpoint synchronously (the bundle needs it).
    pub fn stamp_now(&mut self, size: u64) {
        let path = self
            .dir
            .join("log")
            .join("checkpoints")
            .join(format!("{size:06}.note"));
        let Ok(note) = std::fs::read(&path) else {
            return;
        };
        let token = self
            .tsa
            .stamp(&note, std::time::SystemTime::now())
            .map_err(|e| e.to_string());
        self.attach_stamp(Stamped { size, token });
    }

    /// Writes the sealed bundle (directory + zip) on a blocking thread.
    pub fn seal(
        &self,
        extra_minutes: Option<(Vec<u8>, Vec<u8>)>,
        derived: Vec<(String, PathBuf)>,
    ) -> tokio::task::JoinHandle<Result<crate::evidence::BundleInfo, String>> {
        let log_dir = self.dir.join("log");
        let media_dir = self.media_dir();
        let out = self.dir.join("bundle");
        let key = self.key.clone();
        let mut extra = vec![ExtraFile {
            path: "tsa/chain.pem".into(),
            source: ExtraSource::Bytes(self.tsa.chain_pem().into_bytes()),
        }];
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
            let info = crate::evidence::write_bundle(&log_dir, &media_dir, &key, &extra, &out)
                .map_err(|e| e.to_string())?;
            info!(files = info.files, "bundle sealed");
            Ok(info)
        })
    }
}
