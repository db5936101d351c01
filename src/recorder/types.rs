//! Public value types of the recorder: track descriptions, RTP input, configuration,
//! the events the recorder reports, and its error enum.
//!
//! Owns no state and does no IO; it must never depend on the WebRTC stack (the integrator
//! converts its packets into [`RtpIn`]).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Codecs the recorder can store without transcoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// VP8 video (RFC 7741 payload).
    Vp8,
    /// H.264 video (RFC 6184 payload, packetization mode 0 or 1).
    H264,
    /// Opus audio (RFC 7587 payload).
    Opus,
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaKind {
    /// An audio track.
    Audio,
    /// A video track.
    Video,
}

/// One track of a participant, as negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSpec {
    /// Audio or video.
    pub kind: MediaKind,
    /// The negotiated codec.
    pub codec: Codec,
    /// RTP clock rate (90000 for video, 48000 for Opus).
    pub clock_rate: u32,
    /// Audio channels (Opus in WebRTC: 2); ignored for video.
    pub channels: u16,
}

/// One received RTP packet, already decrypted, with the server's arrival time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpIn {
    /// RTP sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// RTP marker bit.
    pub marker: bool,
    /// RTP synchronisation source.
    pub ssrc: u32,
    /// RTP payload (after the RTP header, extensions and padding removed).
    pub payload: Vec<u8>,
    /// When the server received it (injected clock).
    pub arrival: SystemTime,
}

/// Where and how a participant's media is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecorderConfig {
    /// Directory the files go to; it must exist.
    pub dir: PathBuf,
    /// File name stem (no path separators); files are `<base>-NNN.webm|mkv`.
    pub base_name: String,
    /// Start a new file (at the next keyframe) after this much media.
    pub rotate_after: Duration,
    /// Report newly written bytes at least this often (1 s).
    pub chunk_interval: Duration,
    /// How long a hole in the sequence numbers is waited for (≈200 ms).
    pub reorder_window: Duration,
}

/// Why media is missing from the record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GapKind {
    /// RTP packets that never arrived (NACK did not repair them in time).
    Loss {
        /// Number of missing sequence numbers.
        packets: u64,
    },
    /// No packet for longer than the silence threshold (muted, camera off, network).
    Silence,
    /// The sender changed SSRC: a new sequence and timestamp space starts.
    SsrcChange {
        /// Previous SSRC.
        from: u32,
        /// New SSRC.
        to: u32,
    },
    /// Complete frames dropped because they could not be written (waiting for a
    /// keyframe, buffer overflow before the file header, or a degraded file).
    FramesDropped {
        /// Number of frames.
        frames: u64,
    },
}

/// What the recorder reports to the integrator (and, through it, to the evidence log).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecorderEvent {
    /// Ask the sender for a keyframe (send PLI upstream).
    NeedKeyframe {
        /// Track index.
        track: usize,
    },
    /// A new file was created and its header written.
    FileStarted {
        /// File name relative to the configured directory.
        file: PathBuf,
        /// `"webm"` or `"matroska"`.
        container: &'static str,
    },
    /// Bytes `offset..offset+length` of `file` are on disk and final.
    Chunk {
        /// File name relative to the configured directory.
        file: PathBuf,
        /// First byte of the range.
        offset: u64,
        /// Number of bytes.
        length: u64,
        /// SHA-256 of exactly these bytes as re-read from the file.
        sha256: [u8; 32],
        /// Earliest media time (file time base, ms) of a frame written in this range.
        media_start_ms: i64,
        /// Latest media time (ms) of a frame written in this range.
        media_end_ms: i64,
        /// Wall clock of `media_start_ms`.
        wall_start: SystemTime,
        /// Wall clock of `media_end_ms`.
        wall_end: SystemTime,
    },
    /// Media is missing.
    Gap {
        /// Track index.
        track: usize,
        /// Why.
        kind: GapKind,
        /// Media time (ms, file time base) where the gap is.
        media_ms: i64,
        /// Wall clock when the gap was detected.
        wall: SystemTime,
    },
    /// The file is closed; nothing will be written to it again.
    FileSealed {
        /// File name relative to the configured directory.
        file: PathBuf,
        /// Final length in bytes.
        length: u64,
        /// SHA-256 of the whole file.
        sha256: [u8; 32],
    },
    /// Recording is impaired (write error, disk full); media is dropped until a new
    /// file can be opened.
    Degraded {
        /// What went wrong (no personal data).
        reason: String,
    },
    /// Recording continues into a new file after a `Degraded`.
    Resumed {
        /// The new file, relative to the configured directory.
        file: PathBuf,
    },
}

/// Errors at the recorder's boundary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecorderError {
    /// The configuration cannot work.
    #[error("invalid recorder configuration: {0}")]
    InvalidConfig(&'static str),
    /// No track, or a track the recorder cannot store.
    #[error("unsupported track set: {0}")]
    UnsupportedTracks(&'static str),
    /// Opening, writing, syncing or reading back a file failed.
    #[error("recording file i/o failed ({context}): {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The muxer (FFmpeg) refused an operation.
    #[error("muxer failed ({context}): {message}")]
    Mux {
        /// What was being done.
        context: &'static str,
        /// FFmpeg's error text.
        message: String,
    },
}
