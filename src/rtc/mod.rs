//! The only module that touches the WebRTC stack: str0m (sans-IO), in RTP mode.
//!
//! It owns: the media loop ([`RtcEngine`], `media_loop`): one thread with the media UDP
//! socket and every connection of every hearing, str0m's `Rtc` per connection (`conn`),
//! SFU forwarding through per-hearing outlets with the payload shared and sequence
//! numbers rewritten per subscriber (`forward`), keyframe requests, and the recorder
//! tee (bounded queues, taken in batches by recorder threads).
//!
//! The rest of the server holds handles only: [`RtcEngine`] and [`PeerSession`] send
//! commands to the loop and await answers; the loop reports back with
//! [`SessionEvent`]s on the hearing task's channel. It must never hold hearing state or
//! decide policy: the hearing task says who subscribes to what and which tracks
//! forward ([`PublishedTrack::set_forwarding`]).

mod bwe_recover;
mod conn;
mod downlink;
mod drain;
mod engine;
mod forward;
mod media_loop;
mod quality;
mod simulcast;
mod tcp;
mod udp_batch;

pub use conn::is_private;
pub use engine::{PeerSession, PeerState, RtcEngine, SessionEvent, SessionEventKind};
pub use forward::{
    MediaKind, Outlets, PublishedTrack, RecordItem, RecordSink, RtpRecord, SenderReportRecord,
};
pub use quality::LinkQuality;

/// Errors from the media layer. The message never contains an address or SDP.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtcError {
    #[error("cannot bind the media UDP port: {0}")]
    Bind(std::io::Error),
    #[error("media setup failed: {0}")]
    Setup(String),
    #[error("the session description was rejected: {0}")]
    BadSdp(String),
    #[error("the ICE candidate was rejected")]
    BadCandidate,
    #[error("negotiation failed: {0}")]
    Negotiation(String),
    #[error("the peer connection is closed")]
    Closed,
}
