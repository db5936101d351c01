//! Server-side recording of RTP media into append-only files without transcoding.
//!
//! Pipeline per participant connection ([`ParticipantRecorder`]): per track, a reorder
//! buffer (`jitter`) puts RTP packets in sequence order, drops duplicates and late
//! packets and reports unrepaired losses; a depacketizer (`depack`, `h264`) rebuilds the
//! exact encoded frames; a media clock (`timing`) maps RTP time to the server's wall
//! clock (corrected by RTCP sender reports at file starts); the muxer (`muxer`) stream-
//! copies frames into WebM (VP8/Opus) or Matroska (H.264) in live mode with short
//! clusters flushed to the OS, so a crash leaves a playable prefix. Every
//! `chunk_interval` the newly stored bytes are re-read, hashed and reported as a
//! [`RecorderEvent::Chunk`]; chunks tile each file exactly.
//!
//! Use (integrator): one recorder per participant connection on a blocking thread,
//! fed through a channel: `push` every RTP packet of track `i` (index into the
//! `TrackSpec`s), `sender_report` each RTCP SR, `tick(now)` every ~100 ms, `fsync`
//! before each evidence checkpoint, `finish(now)` when the connection ends. Act on the
//! returned events: `NeedKeyframe` -> send PLI upstream; `Chunk`, `Gap`,
//! `FileStarted`, `FileSealed`, `Degraded`, `Resumed` -> evidence log entries.
//! File names are `<base_name>-NNN.webm|mkv` relative to `dir`, never reused.
//!
//! Never depends on the WebRTC stack, never reads the clock (times are passed in), never
//! rewrites a byte it has reported. The only `unsafe` is in `ffi`.

mod depack;
pub mod derived;
mod ffi;
mod h264;
mod h264_sps;
mod jitter;
pub mod keyframe;
mod muxer;
mod participant;
mod timing;
mod track;
mod types;

pub use participant::ParticipantRecorder;
pub use types::{
    Codec, GapKind, MediaKind, RecorderConfig, RecorderError, RecorderEvent, RtpIn, TrackSpec,
};
