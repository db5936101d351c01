//! The only module that touches `webrtc::*` (webrtc-rs 0.17, classic API).
//!
//! It owns: the shared WebRTC API object and the single UDP port all peers share
//! ([`RtcEngine`]; read in batches on its own thread, `udp_mux`), one peer connection per participant connection ([`PeerSession`]),
//! SFU forwarding (one local track per published track, fanned out to every subscriber:
//! [`PublishedTrack`]), keyframe requests and RTCP draining.
//!
//! It must never: hold hearing state, decide policy, or let a `webrtc` callback do more
//! than forward an event into a channel. Callbacks capture only channel senders (never
//! the peer connection: that forms the reference cycles upstream issues #772/#174 leak).

mod engine;
mod forward;
mod session;
mod udp_mux;

pub use engine::RtcEngine;
pub use forward::{
    MediaKind, Outlet, Outlets, PublishedTrack, RecordItem, RecordSink, RtpRecord,
    SenderReportRecord,
};
pub use session::{PeerSession, PeerState, SessionEvent, SessionEventKind};

/// Errors from the media layer. The message never contains an address or SDP.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtcError {
    #[error("cannot bind the media UDP port: {0}")]
    Bind(std::io::Error),
    #[error("webrtc setup failed: {0}")]
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
