//! Per-track pipeline state: reorder buffer, depacketizer, media clock, keyframe
//! wait, codec parameters learned from the stream, and silence detection.
//!
//! Owns one track's state only; it never touches files (the participant recorder
//! decides where frames go).

use std::time::{Duration, SystemTime};

use super::depack::{Depack, Frame, opus_head, vp8_dimensions};
use super::h264_sps::sps_dimensions;
use super::jitter::JitterBuffer;
use super::muxer::StreamSetup;
use super::timing::MediaClock;
use super::types::{Codec, MediaKind, TrackSpec};

/// No packet for this long is reported as a silence gap.
pub(crate) const SILENCE_AFTER: Duration = Duration::from_secs(2);
/// Keyframe requests are repeated at most this often while one is awaited.
pub(crate) const KEY_REQUEST_EVERY: Duration = Duration::from_secs(1);

/// One track of a participant.
#[derive(Debug)]
pub(crate) struct Track {
    pub spec: TrackSpec,
    pub jitter: JitterBuffer,
    pub depack: Depack,
    pub clock: MediaClock,
    /// Video: frames are dropped until a keyframe arrives.
    pub need_key: bool,
    pub last_key_request: Option<SystemTime>,
    /// Frames dropped while waiting for a keyframe / degraded (reported on recovery).
    pub dropped_frames: u64,
    /// Partial frames dropped by the depacketizer.
    pub partial_dropped: u64,
    /// Frame size from the latest keyframe (VP8 header or H.264 SPS).
    pub size: Option<(u16, u16)>,
    /// Last PTS written to the current file (ms).
    pub last_pts: Option<i64>,
    pub last_arrival: Option<SystemTime>,
    pub silent: bool,
}

impl Track {
    pub(crate) fn new(spec: TrackSpec, window: Duration) -> Self {
        Self {
            jitter: JitterBuffer::new(window),
            depack: Depack::new(spec.codec),
            clock: MediaClock::new(spec.clock_rate),
            need_key: spec.kind == MediaKind::Video,
            last_key_request: None,
            dropped_frames: 0,
            partial_dropped: 0,
            size: None,
            last_pts: None,
            last_arrival: None,
            silent: false,
            spec,
        }
    }

    pub(crate) fn is_video(&self) -> bool {
        self.spec.kind == MediaKind::Video
    }

    /// Learns codec parameters from a keyframe.
    pub(crate) fn learn(&mut self, frame: &Frame) {
        if !frame.key {
            return;
        }
        let size = match (&self.spec.codec, &self.depack) {
            (Codec::Vp8, _) => vp8_dimensions(&frame.data),
            (Codec::H264, Depack::H264(d)) => d.sps.as_deref().and_then(sps_dimensions),
            _ => None,
        };
        if size.is_some() {
            self.size = size;
        }
    }

    /// True when a file header can describe this track.
    pub(crate) fn ready(&self) -> bool {
        match (self.spec.codec, &self.depack) {
            (Codec::Opus, _) => true,
            (Codec::Vp8, _) => self.size.is_some() && !self.need_key,
            (Codec::H264, Depack::H264(d)) => {
                d.avcc().is_some() && self.size.is_some() && !self.need_key
            }
            (Codec::H264, _) => false,
        }
    }

    /// Stream description for a file header.
    pub(crate) fn setup(&self) -> StreamSetup {
        let extradata = match (&self.spec.codec, &self.depack) {
            (Codec::Opus, _) => Some(opus_head(self.spec.channels, self.spec.clock_rate)),
            (Codec::H264, Depack::H264(d)) => d.avcc(),
            _ => None,
        };
        StreamSetup {
            spec: self.spec.clone(),
            size: self.size,
            extradata,
        }
    }

    /// True (and remembers it) if a keyframe request is due at `now`.
    pub(crate) fn key_request_due(&mut self, now: SystemTime) -> bool {
        let due = self
            .last_key_request
            .is_none_or(|t| now.duration_since(t).unwrap_or(Duration::ZERO) >= KEY_REQUEST_EVERY);
        if due {
            self.last_key_request = Some(now);
        }
        due
    }
}
