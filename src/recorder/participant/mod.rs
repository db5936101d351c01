//! `ParticipantRecorder`: all tracks of one participant connection into one file at a
//! time (rotated at keyframes), with chunk reports, gaps, and recovery from write
//! errors into a new file.
//!
//! Synchronous and clock-injected: the integrator calls it from one blocking thread.
//! It must never rewrite a reported byte, never transcode, and never panic on input.

mod files;

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use super::depack::Frame;
use super::jitter::JitterOut;
use super::muxer::{MuxFile, container_for};
use super::timing::diff_micros;
use super::track::{SILENCE_AFTER, Track};
use super::types::{GapKind, RecorderConfig, RecorderError, RecorderEvent, RtpIn, TrackSpec};

/// Most frames held while the first header waits for a video keyframe.
const MAX_PENDING: usize = 1_500;
/// Without a video keyframe for this long, a file starts with the ready tracks only.
const START_WITHOUT_VIDEO_AFTER: Duration = Duration::from_secs(5);
/// Most tracks one participant connection records (audio, camera, a spare).
const MAX_TRACKS: usize = 8;
/// Wait between attempts to open a new file after a write error.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Failed retries double the wait up to this.
const RETRY_MAX: Duration = Duration::from_secs(30);

/// A frame with its wall time, waiting for a file.
#[derive(Debug)]
struct Pending {
    track: usize,
    frame: Frame,
    /// Unwrapped RTP timestamp (to recompute `wall` when clocks are aligned).
    ts_ext: i64,
    wall: SystemTime,
}

/// The file being written.
struct Open {
    mux: MuxFile,
    wall0: SystemTime,
    media: Option<(i64, i64)>,
    /// Each track's picture size as the file's header gives it.
    sizes: Vec<Option<(u16, u16)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Starting,
    Writing,
    Degraded { since: SystemTime, wait: Duration },
}

/// Records one participant connection.
pub struct ParticipantRecorder {
    cfg: RecorderConfig,
    tracks: Vec<Track>,
    container: (&'static str, &'static str),
    file: Option<Open>,
    next_index: u32,
    pending: VecDeque<Pending>,
    mode: Mode,
    rotate_wanted: bool,
    last_chunk: SystemTime,
    first_frame: Option<SystemTime>,
    events: Vec<RecorderEvent>,
}

fn ms_between(later: SystemTime, earlier: SystemTime) -> i64 {
    diff_micros(later, earlier) / 1000
}

impl ParticipantRecorder {
    /// Validates the configuration; files are created when media arrives.
    pub fn new(
        cfg: RecorderConfig,
        tracks: Vec<TrackSpec>,
        now: SystemTime,
    ) -> Result<Self, RecorderError> {
        if tracks.is_empty() {
            return Err(RecorderError::UnsupportedTracks("no track"));
        }
        if tracks.iter().any(|t| t.clock_rate == 0) {
            return Err(RecorderError::UnsupportedTracks("clock rate 0"));
        }
        let bad_name = cfg.base_name.is_empty()
            || cfg.base_name.len() > 100
            || !cfg
                .base_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if bad_name {
            return Err(RecorderError::InvalidConfig(
                "base_name must be [A-Za-z0-9_-]{1,100}",
            ));
        }
        if cfg.chunk_interval.is_zero() || cfg.rotate_after.is_zero() {
            return Err(RecorderError::InvalidConfig("zero interval"));
        }
        if !cfg.dir.is_dir() {
            return Err(RecorderError::InvalidConfig("dir is not a directory"));
        }
        ffmpeg_next::init().map_err(|e| RecorderError::Mux {
            context: "init",
            message: e.to_string(),
        })?;
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Error);
        let container = container_for(&tracks);
        let tracks = tracks
            .into_iter()
            .map(|spec| Track::new(spec, cfg.reorder_window))
            .collect();
        Ok(Self {
            cfg,
            tracks,
            container,
            file: None,
            next_index: 1,
            pending: VecDeque::new(),
            mode: Mode::Starting,
            rotate_wanted: false,
            last_chunk: now,
            first_frame: None,
            events: Vec::new(),
        })
    }

    /// Adds a track that appeared after the recorder started (a camera switched on
    /// after the microphone, a track added by renegotiation); returns its index. The
    /// open file cannot take a new stream, so once the track is ready (video: its first
    /// keyframe) the recorder moves to a new file holding every ready track.
    pub fn add_track(&mut self, spec: TrackSpec) -> Result<usize, RecorderError> {
        if spec.clock_rate == 0 {
            return Err(RecorderError::UnsupportedTracks("clock rate 0"));
        }
        if self.tracks.len() >= MAX_TRACKS {
            return Err(RecorderError::UnsupportedTracks("too many tracks"));
        }
        let mut specs: Vec<TrackSpec> = self.tracks.iter().map(|t| t.spec.clone()).collect();
        specs.push(spec.clone());
        // The next file's container holds every codec (H.264 needs Matroska).
        self.container = container_for(&specs);
        self.tracks.push(Track::new(spec, self.cfg.reorder_window));
        Ok(self.tracks.len() - 1)
    }

    /// Feeds one RTP packet of track `track` (index into the `TrackSpec`s).
    pub fn push(&mut self, track: usize, pkt: RtpIn) -> Vec<RecorderEvent> {
        let now = pkt.arrival;
        let mut outs = Vec::new();
        let Some(t) = self.tracks.get_mut(track) else {
            return Vec::new();
        };
        t.last_arrival = Some(now);
        t.silent = false;
        if t.is_video() && t.need_key && t.key_request_due(now) {
            self.events.push(RecorderEvent::NeedKeyframe { track });
        }
        t.jitter.push(pkt, &mut outs);
        self.process(track, outs, now);
        std::mem::take(&mut self.events)
    }

    /// Records an RTCP sender report (NTP time <-> RTP timestamp) for `track`.
    pub fn sender_report(&mut self, track: usize, ntp: u64, rtp_ts: u32, _arrival: SystemTime) {
        if let Some(t) = self.tracks.get_mut(track) {
            t.clock.sender_report(ntp, rtp_ts);
        }
    }

    /// Releases timed-out holes, reports silence, repeats keyframe requests, retries
    /// after errors and reports the chunk written since the last report.
    pub fn tick(&mut self, now: SystemTime) -> Vec<RecorderEvent> {
        for i in 0..self.tracks.len() {
            let mut outs = Vec::new();
            if let Some(t) = self.tracks.get_mut(i) {
                t.jitter.poll(now, &mut outs);
            }
            self.process(i, outs, now);
            let media_ms = self.media_ms(i);
            let Some(t) = self.tracks.get_mut(i) else {
                continue;
            };
            let quiet = t
                .last_arrival
                .is_some_and(|a| now.duration_since(a).unwrap_or(Duration::ZERO) >= SILENCE_AFTER);
            if quiet && !t.silent {
                t.silent = true;
                self.events.push(RecorderEvent::Gap {
                    track: i,
                    kind: GapKind::Silence,
                    media_ms,
                    wall: now,
                });
            }
            let waiting = t.need_key || (self.rotate_wanted && t.is_video());
            if t.is_video() && waiting && t.last_arrival.is_some() && t.key_request_due(now) {
                self.events.push(RecorderEvent::NeedKeyframe { track: i });
            }
        }
        match self.mode {
            Mode::Starting => self.try_start(now, false),
            Mode::Degraded { since, wait } => {
                let audio_only = !self.tracks.iter().any(Track::is_video);
                if audio_only && now.duration_since(since).unwrap_or(Duration::ZERO) >= wait {
                    self.try_start(now, true);
                }
            }
            Mode::Writing => {}
        }
        let due = now
            .duration_since(self.last_chunk)
            .unwrap_or(Duration::ZERO)
            >= self.cfg.chunk_interval;
        if due {
            self.last_chunk = now;
            self.report_chunk(now);
        }
        std::mem::take(&mut self.events)
    }

    /// Flushes and fsyncs the current file (before an evidence checkpoint).
    pub fn fsync(&mut self) -> Result<(), RecorderError> {
        match self.file.as_mut() {
            Some(open) => open.mux.sync(),
            None => Ok(()),
        }
    }

    /// Drains the buffers, writes what can be written, seals the file.
    pub fn finish(mut self, now: SystemTime) -> Result<Vec<RecorderEvent>, RecorderError> {
        for i in 0..self.tracks.len() {
            let mut outs = Vec::new();
            if let Some(t) = self.tracks.get_mut(i) {
                t.jitter.drain(&mut outs);
            }
            self.process(i, outs, now);
        }
        if self.mode == Mode::Starting && !self.pending.is_empty() {
            self.try_start(now, true);
        }
        self.drop_pending();
        for i in 0..self.tracks.len() {
            self.report_dropped(i, now);
        }
        let result = self.seal(true);
        result.map(|()| std::mem::take(&mut self.events))
    }

    fn media_ms(&self, track: usize) -> i64 {
        self.tracks.get(track).and_then(|t| t.last_pts).unwrap_or(0)
    }

    fn process(&mut self, track: usize, outs: Vec<JitterOut>, now: SystemTime) {
        for out in outs {
            match out {
                JitterOut::Loss { packets } => {
                    let media_ms = self.media_ms(track);
                    // Frames after an unrepaired loss may reference the lost one: ask
                    // for a keyframe so the picture recovers (frames are still kept).
                    if let Some(t) = self.tracks.get_mut(track) {
                        if t.is_video() && t.key_request_due(now) {
                            self.events.push(RecorderEvent::NeedKeyframe { track });
                        }
                    }
                    self.events.push(RecorderEvent::Gap {
                        track,
                        kind: GapKind::Loss { packets },
                        media_ms,
                        wall: now,
                    });
                }
                JitterOut::SsrcChange { from, to } => {
                    let media_ms = self.media_ms(track);
                    self.events.push(RecorderEvent::Gap {
                        track,
                        kind: GapKind::SsrcChange { from, to },
                        media_ms,
                        wall: now,
                    });
                    if let Some(t) = self.tracks.get_mut(track) {
                        t.clock.reset();
                        if t.is_video() {
                            t.need_key = true;
                            t.last_key_request = Some(now);
                            self.events.push(RecorderEvent::NeedKeyframe { track });
                        }
                    }
                }
                JitterOut::Packet(p) => {
                    let frame = match self.tracks.get_mut(track) {
                        Some(t) => t.depack.push(&p, &mut t.partial_dropped),
                        None => None,
                    };
                    if let Some(frame) = frame {
                        self.on_frame(track, frame, now);
                    }
                }
            }
        }
    }

    fn on_frame(&mut self, track: usize, frame: Frame, now: SystemTime) {
        let Some(t) = self.tracks.get_mut(track) else {
            return;
        };
        let ts_ext = t.clock.unwrap(frame.rtp_ts);
        let first_anchor = !t.clock.is_anchored();
        let mut wall = t.clock.wall(ts_ext, frame.arrival);
        if first_anchor && self.mode == Mode::Writing {
            // A track anchored mid-file takes its sender-report offset right away.
            self.align_clocks(Some(track));
            let Some(t) = self.tracks.get_mut(track) else {
                return;
            };
            wall = t.clock.wall(ts_ext, frame.arrival);
        }
        let Some(t) = self.tracks.get_mut(track) else {
            return;
        };
        if t.is_video() && t.need_key {
            if !frame.key {
                t.dropped_frames += 1;
                return;
            }
            t.need_key = false;
            if self.mode == Mode::Writing {
                self.report_dropped(track, now);
            }
        }
        let Some(t) = self.tracks.get_mut(track) else {
            return;
        };
        t.learn(&frame);
        let is_video = t.is_video();
        self.first_frame.get_or_insert(frame.arrival);
        let item = Pending {
            track,
            frame,
            ts_ext,
            wall,
        };
        match self.mode {
            Mode::Starting => {
                self.pending.push_back(item);
                while self.pending.len() > MAX_PENDING {
                    if let Some(old) = self.pending.pop_front() {
                        self.count_drop(old.track);
                    }
                }
                self.try_start(now, false);
            }
            Mode::Degraded { since, wait } => {
                let waited = now.duration_since(since).unwrap_or(Duration::ZERO) >= wait;
                let video_ok =
                    !self.tracks.iter().any(Track::is_video) || (is_video && item.frame.key);
                if waited && video_ok {
                    self.pending.push_back(item);
                    self.try_start(now, true);
                } else {
                    if let Some(t) = self.tracks.get_mut(track) {
                        t.dropped_frames += 1;
                    }
                }
            }
            Mode::Writing => self.write_or_rotate(item, now),
        }
    }

    fn write_or_rotate(&mut self, item: Pending, now: SystemTime) {
        let Some(open) = self.file.as_ref() else {
            return;
        };
        let has_video = self
            .tracks
            .iter()
            .enumerate()
            .any(|(i, t)| t.is_video() && open.mux.has_track(i));
        let elapsed = diff_micros(item.wall, open.wall0) >= micros(self.cfg.rotate_after);
        let is_key_video =
            item.frame.key && self.tracks.get(item.track).is_some_and(Track::is_video);
        // A track missing from this file that became ready forces a new file, which
        // starts (like a rotation) at a keyframe of the video the file already has.
        let missing = self
            .tracks
            .iter()
            .enumerate()
            .any(|(i, t)| t.ready() && !open.mux.has_track(i));
        let in_file = open.mux.has_track(item.track);
        // A keyframe of another size (a simulcast publisher's recorded layer changed,
        // or a camera was switched) starts a new file, whose header says the new size.
        let resized = is_key_video
            && in_file
            && self.tracks.get(item.track).map(|t| t.size) != open.sizes.get(item.track).copied();
        let wanted = elapsed || missing || resized;
        let switch = wanted && (!has_video || is_key_video);
        if switch {
            self.rotate_wanted = false;
            if let Err(e) = self.seal(false) {
                self.degrade(e, now);
            }
            self.pending.push_back(item);
            self.mode = Mode::Starting;
            self.try_start(now, true);
            return;
        }
        if wanted && !self.rotate_wanted {
            self.rotate_wanted = true;
            for (i, t) in self.tracks.iter_mut().enumerate() {
                if t.is_video() {
                    t.last_key_request = Some(now);
                    self.events.push(RecorderEvent::NeedKeyframe { track: i });
                }
            }
        }
        if !in_file && missing {
            // Held for the next file, which starts at the keyframe asked for above.
            self.pending.push_back(item);
            while self.pending.len() > MAX_PENDING {
                if let Some(old) = self.pending.pop_front() {
                    self.count_drop(old.track);
                }
            }
            return;
        }
        self.write(item, now);
    }

    fn write(&mut self, item: Pending, now: SystemTime) {
        let Some(open) = self.file.as_mut() else {
            return;
        };
        let Some(t) = self.tracks.get_mut(item.track) else {
            return;
        };
        if !open.mux.has_track(item.track) {
            t.dropped_frames += 1;
            return;
        }
        let raw = ms_between(item.wall, open.wall0).max(0);
        let pts = match t.last_pts {
            Some(last) if raw <= last => last + 1,
            _ => raw,
        };
        let res = open
            .mux
            .write(item.track, &item.frame.data, pts, 0, item.frame.key);
        match res {
            Ok(()) => {
                t.last_pts = Some(pts);
                open.media = Some(match open.media {
                    None => (pts, pts),
                    Some((a, b)) => (a.min(pts), b.max(pts)),
                });
            }
            Err(e) => self.degrade(e, now),
        }
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    /// The integrator moves a recorder onto a blocking thread.
    #[test]
    fn recorder_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<super::ParticipantRecorder>();
    }
}
