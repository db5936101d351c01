//! File lifecycle of a participant recording: starting a file (header, FileStarted,
//! Resumed), chunk reports, sealing, and degrading on write errors.
//!
//! Part of `ParticipantRecorder`; it must never reopen or rewrite a file it sealed.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::super::muxer::{ByteRange, MuxFile};
use super::super::track::Track;
use super::super::types::{GapKind, RecorderError, RecorderEvent};
use super::{Mode, Open, ParticipantRecorder, RETRY_AFTER, RETRY_MAX, START_WITHOUT_VIDEO_AFTER};

impl ParticipantRecorder {
    /// Opens the next file if the tracks allow; `force` starts with the ready tracks
    /// even if a video track has no keyframe yet.
    pub(super) fn try_start(&mut self, now: SystemTime, force: bool) {
        let any_ready = self.tracks.iter().any(Track::ready);
        let all_ready = self.tracks.iter().all(Track::ready);
        let waited_long = self.first_frame.is_some_and(|f| {
            now.duration_since(f).unwrap_or(Duration::ZERO) >= START_WITHOUT_VIDEO_AFTER
        });
        if self.pending.is_empty() || !any_ready || !(all_ready || force || waited_long) {
            return;
        }
        let setups: Vec<_> = self
            .tracks
            .iter()
            .map(|t| t.ready().then(|| t.setup()))
            .collect();
        let (container, ext) = self.container;
        let rel = PathBuf::from(format!(
            "{}-{:03}.{ext}",
            self.cfg.base_name, self.next_index
        ));
        self.next_index = self.next_index.saturating_add(1);
        let was_degraded = matches!(self.mode, Mode::Degraded { .. });
        match MuxFile::create(&self.cfg.dir, rel.clone(), container, &setups) {
            Ok(mux) => {
                // Sender-report lip sync moves anchors only here, before anything of
                // this file is written; pending frames get their wall time again.
                self.align_clocks(None);
                for p in &mut self.pending {
                    if let Some(t) = self.tracks.get_mut(p.track) {
                        p.wall = t.clock.wall(p.ts_ext, p.frame.arrival);
                    }
                }
                let wall0 = self.pending.iter().map(|p| p.wall).min().unwrap_or(now);
                self.events.push(RecorderEvent::FileStarted {
                    file: rel.clone(),
                    container,
                });
                if was_degraded {
                    self.events.push(RecorderEvent::Resumed { file: rel });
                }
                for i in 0..self.tracks.len() {
                    self.report_dropped(i, now);
                    if let Some(t) = self.tracks.get_mut(i) {
                        t.last_pts = None;
                    }
                }
                self.file = Some(Open {
                    mux,
                    wall0,
                    media: None,
                    sizes: self.tracks.iter().map(|t| t.size).collect(),
                });
                self.mode = Mode::Writing;
                let pending = std::mem::take(&mut self.pending);
                for item in pending {
                    self.write(item, now);
                }
            }
            Err(e) => self.degrade(e, now),
        }
    }

    /// Applies sender-report lip sync (see `timing`): to every track at a file start
    /// (`only == None`), or to one track when it gets its first anchor mid-file.
    pub(super) fn align_clocks(&mut self, only: Option<usize>) {
        let Some(r) = self
            .tracks
            .iter()
            .enumerate()
            .position(|(i, t)| Some(i) != only && t.clock.has_sender_mapping())
        else {
            return;
        };
        let (before, rest) = self.tracks.split_at_mut(r);
        let Some((reference, after)) = rest.split_first_mut() else {
            return;
        };
        let others = before
            .iter_mut()
            .enumerate()
            .chain(after.iter_mut().enumerate().map(|(i, t)| (i + r + 1, t)));
        for (i, t) in others {
            if only.is_none_or(|o| o == i) && t.clock.has_sender_mapping() {
                t.clock.align_to(&reference.clock);
            }
        }
    }

    pub(super) fn count_drop(&mut self, track: usize) {
        if let Some(t) = self.tracks.get_mut(track) {
            t.dropped_frames += 1;
        }
    }

    pub(super) fn report_dropped(&mut self, track: usize, now: SystemTime) {
        let media_ms = self.media_ms(track);
        if let Some(t) = self.tracks.get_mut(track) {
            let frames = std::mem::take(&mut t.dropped_frames);
            if frames > 0 {
                self.events.push(RecorderEvent::Gap {
                    track,
                    kind: GapKind::FramesDropped { frames },
                    media_ms,
                    wall: now,
                });
            }
        }
    }

    pub(super) fn drop_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for p in pending {
            self.count_drop(p.track);
        }
    }

    /// A write or open failed: report, close what exists, drop media until a new
    /// file can be opened.
    pub(super) fn degrade(&mut self, e: RecorderError, now: SystemTime) {
        // One event per outage; failed retries while degraded stay quiet.
        if !matches!(self.mode, Mode::Degraded { .. }) {
            // The error text names the operation and the OS/FFmpeg cause, never a path.
            tracing::warn!(error = %e, "recording degraded; dropping media until a new file opens");
            self.events.push(RecorderEvent::Degraded {
                reason: e.to_string(),
            });
        }
        self.seal_failed();
        self.drop_pending();
        for t in &mut self.tracks {
            if t.is_video() {
                t.need_key = true;
            }
        }
        let wait = match self.mode {
            Mode::Degraded { wait, .. } => (wait * 2).min(RETRY_MAX),
            _ => RETRY_AFTER,
        };
        self.mode = Mode::Degraded { since: now, wait };
    }

    fn chunk_event(
        wall0: SystemTime,
        media: Option<(i64, i64)>,
        rel: PathBuf,
        r: ByteRange,
    ) -> RecorderEvent {
        let (a, b) = media.unwrap_or((0, 0));
        let at = |ms: i64| {
            wall0
                .checked_add(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
                .unwrap_or(wall0)
        };
        RecorderEvent::Chunk {
            file: rel,
            offset: r.offset,
            length: r.length,
            sha256: r.sha256,
            media_start_ms: a,
            media_end_ms: b,
            wall_start: at(a),
            wall_end: at(b),
        }
    }

    pub(super) fn report_chunk(&mut self, now: SystemTime) {
        let Some(open) = self.file.as_mut() else {
            return;
        };
        let flushed = open.mux.flush().and_then(|()| open.mux.take_range());
        match flushed {
            Ok(Some(r)) => {
                let ev = Self::chunk_event(open.wall0, open.media, open.mux.rel().to_path_buf(), r);
                open.media = None;
                self.events.push(ev);
            }
            Ok(None) => {}
            Err(e) => self.degrade(e, now),
        }
    }

    /// Closes the current file after a write failed: no trailer, the file cut back to its
    /// last reported byte (see `MuxFile::close_at_reported`), FileSealed.
    fn seal_failed(&mut self) {
        let Some(open) = self.file.take() else {
            return;
        };
        let rel = open.mux.rel().to_path_buf();
        let (cut, length, sha256) = open.mux.close_at_reported();
        if let Err(e) = cut {
            tracing::warn!(error = %e, "a failed recording file could not be cut to its reported length");
        }
        self.events.push(RecorderEvent::FileSealed {
            file: rel,
            length,
            sha256,
        });
    }

    /// Closes the current file: trailer (if `trailer`), last chunk, FileSealed.
    pub(super) fn seal(&mut self, trailer: bool) -> Result<(), RecorderError> {
        let Some(mut open) = self.file.take() else {
            return Ok(());
        };
        let written = if trailer || self.mode == Mode::Writing {
            open.mux.write_trailer()
        } else {
            Ok(())
        };
        let rel = open.mux.rel().to_path_buf();
        let media = open.media;
        let wall0 = open.wall0;
        let (last, length, sha256) = open.mux.close();
        match last {
            Ok(Some(r)) => self
                .events
                .push(Self::chunk_event(wall0, media, rel.clone(), r)),
            Ok(None) => {}
            Err(e) => self.events.push(RecorderEvent::Degraded {
                reason: e.to_string(),
            }),
        }
        self.events.push(RecorderEvent::FileSealed {
            file: rel,
            length,
            sha256,
        });
        written
    }
}
