//! The hearing task's evidence duties: opening the log when the hearing opens, turning
//! hearing events and recorder reports into log entries, periodic checkpoints, and
//! closing + sealing (browser attestations: `actor_attest.rs`).

use super::actor::Actor;
use super::protocol::{CheckpointRef, ServerMsg};
use super::record::{HearingRecord, Stamped};
use super::recording::{self, RecorderReport, RecorderSettings};
use crate::domain::{ParticipantId, Presence};
use crate::evidence::convert;
use crate::recorder::{GapKind, RecorderEvent};
use crate::verify::entry::EntryBody;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::time::Duration;
use tracing::warn;

/// The `method` of the judge's `identity_attested` entry confirming an official's.
pub(super) const CONFIRMED: &str = "confirmed";

/// How long a closing hearing waits for its recorders to seal their files.
pub(super) const CLOSE_WAIT: Duration = Duration::from_secs(15);

impl Actor {
    /// Opens (or recovers) the evidence log. Called when the hearing opens (`opening`),
    /// and at task start for a hearing that is open (first use, or a server restart:
    /// then recordings cut short by the crash are sealed at their last committed byte).
    pub(super) async fn open_record(&mut self, opening: bool) {
        if self.record.is_some() {
            return;
        }
        let d = &self.deps;
        let root = if self.summary.rehearsal {
            super::record::rehearsal_root(&d.config.data_dir)
        } else {
            d.config.data_dir.clone()
        };
        match HearingRecord::open(
            &root,
            &d.config.server_name,
            &self.id,
            d.key.clone(),
            d.tsa.clone(),
            self.stamp_tx.clone(),
        ) {
            Ok((rec, recovery)) => {
                self.record = Some(rec);
                if recovery.interrupted() {
                    self.interrupted = true;
                }
                let moved = if opening { None } else { self.moved_marker() };
                let resumed = self.record.as_ref().is_some_and(|r| r.log.size() > 0);
                if let Some(m) = moved.clone().filter(|_| resumed) {
                    self.log_node_lost(m);
                }
                if !opening {
                    self.rights_from_log();
                    let n = self.record.as_mut().map(|r| r.seal_orphans()).unwrap_or(0);
                    if n > 0 {
                        self.interrupted = true;
                        self.log(EntryBody::RecordingDegraded { participant: None, detail: format!("server interrupted: {n} recording(s) cut at their last committed byte and sealed") });
                    }
                }
                if self.record.as_ref().is_some_and(|r| r.log.size() == 0) {
                    self.log_opening().await;
                }
                // Nothing had been shipped: the log starts here, then says why.
                if let Some(m) = moved.filter(|_| !resumed) {
                    self.log_node_lost(m);
                }
                let log = self.log_values();
                self.exhibit_count = Self::started_in_log(&log, "exhibit");
                self.channel_count = Self::started_in_log(&log, "interpretation");
                self.checkpoint_now();
            }
            Err(e) => warn!(error = %e, "cannot open the evidence log"),
        }
    }

    async fn log_opening(&mut self) {
        let Ok(Some(h)) = self.deps.store.hearing(&self.id).await else {
            return;
        };
        self.log(EntryBody::HearingOpened {
            case_ref: h.fields.case_ref,
            mla_ref: Some(h.fields.mla_ref),
            requesting_state: Some(h.fields.requesting_state),
            requested_state: Some(h.fields.requested_state),
            language: Some(h.fields.language),
            requesting_authority: h.fields.request.requesting_authority,
            requesting_reference: h.fields.request.requesting_reference,
            requested_authority: h.fields.request.requested_authority,
            requested_reference: h.fields.request.requested_reference,
            request_date: h.fields.request.request_date,
            time_stamping: Some(
                if self.deps.tsa.is_external() {
                    "external"
                } else {
                    "builtin"
                }
                .into(),
            ),
        });
        for p in self
            .deps
            .store
            .participants(&self.id)
            .await
            .unwrap_or_default()
        {
            self.log(EntryBody::ParticipantInvited {
                participant: p.id.to_string(),
                role: p.role.as_str().into(),
                display_name: Some(p.display_name),
            });
        }
        let present: Vec<(ParticipantId, Presence, Option<String>)> = self
            .people
            .iter()
            .filter(|(_, p)| p.conn.is_some())
            .map(|(id, p)| (id.clone(), p.presence, p.public_key.clone()))
            .collect();
        for (id, presence, key) in present {
            self.log(EntryBody::ParticipantJoined {
                participant: id.to_string(),
            });
            self.log_device_check(&id);
            if let Some(k) = key {
                self.log(super::actor_device::key_bound(&id, &k));
            }
            if presence == Presence::Admitted {
                self.log(EntryBody::ParticipantAdmitted {
                    participant: id.to_string(),
                });
            }
            self.start_recorder(&id);
        }
    }

    /// Appends to the log if the hearing is being recorded.
    pub(super) fn log(&mut self, body: EntryBody) {
        if let Some(r) = self.record.as_mut() {
            if !r.log.is_closed() {
                r.append(body);
            }
        }
    }

    /// Starts recording a participant's current connection (if the hearing records).
    pub(super) fn start_recorder(&mut self, pid: &ParticipantId) {
        let Some(rec) = self.record.as_ref() else {
            return;
        };
        // A rehearsal records no media: its recordings are discarded by never being made.
        if self.summary.rehearsal || rec.log.is_closed() || self.closing.is_some() {
            return;
        }
        let media = rec.media_dir();
        let Some(p) = self.people.get_mut(pid) else {
            return;
        };
        if p.in_consultation {
            return; // a private consultation is never recorded
        }
        if p.presence != crate::domain::Presence::Admitted {
            return; // nothing is recorded before admission
        }
        let Some(conn) = p.conn.as_mut() else { return };
        let Some(session) = conn.session.as_ref() else {
            return;
        };
        if conn.recording {
            return;
        }
        // Connection ids count from 1 in each process: after a restart, or on the node a
        // hearing moved to, a name may already be taken by an earlier file. Skip it.
        let taken: Vec<String> = std::fs::read_dir(&media)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        let base_name = loop {
            let name = match conn.segments {
                0 => format!("{pid}-c{}", conn.id),
                n => format!("{pid}-c{}-s{n}", conn.id),
            };
            conn.segments += 1;
            let prefix = format!("{name}-");
            if !taken.iter().any(|t| t.starts_with(&prefix)) {
                break name;
            }
        };
        let settings = RecorderSettings {
            dir: media,
            base_name,
            rotate_after: self.deps.config.rotate_after,
        };
        match recording::start(pid.clone(), settings, self.rec_tx.clone()) {
            Ok(sink) => {
                session.set_record_sink(Some(sink));
                conn.recording = true;
                self.recorders += 1;
                self.recording_state(pid, "recording");
            }
            Err(e) => warn!(error = %e, "cannot start a recorder thread"),
        }
    }

    pub(super) async fn recorder_report(&mut self, report: RecorderReport) {
        match report {
            RecorderReport::Done { participant } => {
                tracing::debug!(participant = %participant, "recorder finished");
                self.recorders = self.recorders.saturating_sub(1);
                if self.recorders == 0 && self.closing.is_some() {
                    self.finish_close().await;
                }
                self.poll_stop();
            }
            RecorderReport::Failed {
                participant,
                reason,
            } => {
                warn!(participant = %participant, reason = %reason, "recorder failed");
                self.log(EntryBody::RecordingDegraded {
                    participant: Some(participant.to_string()),
                    detail: reason,
                });
                self.recording_state(&participant, "degraded");
            }
            RecorderReport::Event { participant, event } => self.recorder_event(participant, event),
        }
    }

    fn recorder_event(&mut self, pid: ParticipantId, event: RecorderEvent) {
        let media = |p: &std::path::Path| convert::media_path(p);
        match event {
            RecorderEvent::NeedKeyframe { .. } => {
                if self.extra_keyframe(&pid) {
                    return;
                }
                if let Some(p) = self.people.get(&pid) {
                    for t in p
                        .published
                        .iter()
                        .filter(|t| t.kind == crate::rtc::MediaKind::Video)
                    {
                        t.request_keyframe();
                    }
                }
            }
            RecorderEvent::Chunk {
                file,
                offset,
                length,
                sha256,
                media_start_ms,
                media_end_ms,
                wall_start,
                wall_end,
            } => {
                if let Some(file) = media(&file) {
                    self.log(EntryBody::MediaChunk {
                        file,
                        offset,
                        length,
                        sha256: convert::sha256_hex(&sha256),
                        media_start_ms,
                        media_end_ms,
                        wall_start: convert::wall(wall_start),
                        wall_end: convert::wall(wall_end),
                        participant: Some(pid.to_string()),
                        track: None,
                    });
                }
            }
            RecorderEvent::FileSealed {
                file,
                length,
                sha256,
            } => {
                if let Some(file) = media(&file) {
                    self.log(EntryBody::FileSealed {
                        file,
                        length,
                        sha256: convert::sha256_hex(&sha256),
                    });
                }
            }
            RecorderEvent::Gap {
                track, kind, wall, ..
            } => {
                let reason = match kind {
                    GapKind::Loss { packets } => format!("loss of {packets} packets not repaired"),
                    GapKind::Silence => "no media received".to_owned(),
                    GapKind::SsrcChange { .. } => "stream restarted".to_owned(),
                    GapKind::FramesDropped { frames } => format!("{frames} frames dropped"),
                };
                let w = convert::wall(wall);
                self.log(EntryBody::Gap {
                    participant: Some(pid.to_string()),
                    track: Some(track.to_string()),
                    wall_start: w.clone(),
                    wall_end: w,
                    reason,
                });
            }
            RecorderEvent::Degraded { reason } => {
                self.log(EntryBody::RecordingDegraded {
                    participant: Some(pid.to_string()),
                    detail: reason,
                });
                self.recording_state(&pid, "degraded");
            }
            RecorderEvent::Resumed { .. } => self.recording_state(&pid, "recording"),
            _ => {}
        }
    }

    /// Tells the court's consoles about a participant's recording state.
    pub(super) fn recording_state(&mut self, pid: &ParticipantId, state: &'static str) {
        self.recording_states.insert(pid.clone(), state);
        self.to_court(ServerMsg::Recording {
            participant: pid.to_string(),
            state,
        });
    }

    pub(super) fn checkpoint_ref(&self) -> Option<CheckpointRef> {
        let (size, root) = self.record.as_ref()?.log.latest_checkpoint()?;
        Some(CheckpointRef {
            size,
            root: STANDARD.encode(root),
        })
    }

    /// Signs a checkpoint now if the log grew, and sends it to everyone to co-sign.
    /// A checkpoint now, or as soon as the rate cap allows (the hearing tick makes a
    /// deferred one).
    pub(super) fn checkpoint_now(&mut self) {
        let Some(rec) = self.record.as_mut() else {
            return;
        };
        if !rec.checkpoint_allowed() {
            self.checkpoint_due = true;
            return;
        }
        self.checkpoint_due = false;
        if rec.checkpoint().is_none() {
            return;
        }
        self.ship(None);
        if let Some(checkpoint) = self.checkpoint_ref() {
            for p in self
                .people
                .values()
                .filter(|p| p.presence == Presence::Admitted)
            {
                p.send(ServerMsg::Checkpoint {
                    checkpoint: checkpoint.clone(),
                });
            }
        }
    }

    pub(super) fn stamped(&mut self, s: Stamped) {
        let size = s.size;
        if let Some(r) = self.record.as_mut() {
            r.attach_stamp(s);
        }
        self.ship(Some(size));
    }

    /// Closing: stop recording, wait for the recorders to seal, then finish.
    pub(super) async fn begin_close(&mut self) {
        if self.summary.rehearsal {
            return self.discard_rehearsal();
        }
        if self.record.is_none() {
            return;
        }
        self.closing = Some(tokio::time::Instant::now() + CLOSE_WAIT);
        if self.recorders == 0 {
            self.finish_close().await;
        }
    }

    /// Derived copies first (their hashes go into the log), then the last entry, the
    /// final checkpoint with a time-stamp, then the sealed bundle.
    pub(super) async fn finish_close(&mut self) {
        if self.sealing.is_some() || self.deriving.is_some() || self.sealed.is_some() {
            return;
        }
        if self.derived.is_none() {
            let labels: std::collections::BTreeMap<String, String> = self
                .deps
                .store
                .participants(&self.id)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|p| {
                    (
                        p.id.to_string(),
                        format!("{} ({})", p.display_name, p.role.as_str()),
                    )
                })
                .collect();
            // One read of the log for both kinds of extra stream.
            let log = self.log_values();
            let labels = Self::with_exhibit_labels(&log, labels);
            let (labels, channels) = Self::with_channel_labels(&log, labels);
            let job = self.record.as_ref().and_then(|r| {
                super::derive::plan(
                    &r.dir.join("log"),
                    &r.media_dir(),
                    &r.dir.join("derived"),
                    &labels,
                    channels,
                )
            });
            match job {
                Some(job) => {
                    let progress = self.derive_progress.clone();
                    self.deriving = Some(tokio::task::spawn_blocking(move || {
                        super::derive::run(job, progress)
                    }));
                    return;
                }
                None => self.derived = Some(Vec::new()),
            }
        }
        let reason = if self.interrupted {
            "closed_after_interruption"
        } else {
            "closed_by_judge"
        };
        self.log(EntryBody::HearingClosed {
            reason: reason.into(),
        });
        let Some(rec) = self.record.as_mut() else {
            return;
        };
        let size = rec.log.size();
        let _ = rec.checkpoint();
        rec.stamp_now(size);
        let minutes = self.minutes.take();
        let signed_minutes = minutes.filter(|_| self.minutes_signer.is_some());
        let derived: Vec<(String, std::path::PathBuf)> = self
            .derived
            .iter()
            .flatten()
            .map(|d| (format!("derived/{}", d.file), d.info.path.clone()))
            .collect();
        self.sealing = Some(rec.seal(signed_minutes, derived, self.deps.blobs.clone()));
    }

    /// Polled from the loop: the derived copies are made; commit them, then finish.
    pub(super) async fn poll_derive(&mut self) {
        if !self.deriving.as_ref().is_some_and(|t| t.is_finished()) {
            return;
        }
        let Some(task) = self.deriving.take() else {
            return;
        };
        let made = task.await.unwrap_or_default();
        for d in &made {
            self.log(EntryBody::DerivedFile {
                file: d.file.clone(),
                length: d.info.length,
                sha256: convert::sha256_hex(&d.info.sha256),
                derived_from: d.from.clone(),
                method: d.method.into(),
            });
        }
        self.derived = Some(made);
        self.finish_close().await;
    }

    /// A rehearsal closes: its scratch log is dropped and deleted; nothing is sealed.
    fn discard_rehearsal(&mut self) {
        self.record = None;
        let dir = super::record::hearing_dir(
            &super::record::rehearsal_root(&self.deps.config.data_dir),
            &self.id,
        );
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => warn!(error = %e, "cannot delete a rehearsal's scratch log"),
        }
        self.discarded = true;
    }

    pub(super) fn seal_status(&self) -> super::SealStatus {
        let stage = if self.discarded {
            "discarded"
        } else if self.sealed.is_some() {
            "sealed"
        } else if self.sealing.is_some() {
            "sealing"
        } else if self.deriving.is_some() {
            "deriving"
        } else if self.closing.is_some() {
            "closing"
        } else {
            "open"
        };
        let progress = self
            .derive_progress
            .load(std::sync::atomic::Ordering::Relaxed) as f32
            / 1000.0;
        super::SealStatus { stage, progress }
    }

    /// Polled from the loop: the seal task finished.
    pub(super) async fn poll_seal(&mut self) {
        let Some(task) = self.sealing.as_mut() else {
            return;
        };
        if !task.is_finished() {
            return;
        }
        let Some(task) = self.sealing.take() else {
            return;
        };
        match task.await {
            Ok(Ok(info)) => {
                self.sealed = Some(info.dir.clone());
                let sha = info.manifest_sha256.clone();
                for p in self.people.values() {
                    p.send(ServerMsg::Sealed {
                        bundle_sha256: sha.clone(),
                    });
                }
            }
            Ok(Err(e)) => warn!(error = %e, "sealing failed"),
            Err(e) => warn!(error = %e, "sealing task failed"),
        }
    }
}
