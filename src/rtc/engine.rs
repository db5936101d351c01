//! The handles the rest of the server holds: [`RtcEngine`] (start the media loop, open
//! sessions) and [`PeerSession`] (one participant connection). Both only send commands
//! to the media loop's thread and, where an answer is needed, await it on a oneshot.

use super::RtcError;
use super::forward::{Outlets, PublishedTrack, RecordSink};
use super::media_loop;
use crate::config::MediaConfig;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use tokio::sync::{mpsc, oneshot};

/// An event from a session, tagged with the session's tag.
#[derive(Debug)]
pub struct SessionEvent {
    pub tag: u64,
    pub kind: SessionEventKind,
}

#[derive(Debug)]
pub enum SessionEventKind {
    /// The peer connection state changed.
    State(PeerState),
    /// The peer started publishing a track (its first packet arrived).
    TrackPublished(PublishedTrack),
    /// The link's quality over the last statistics window (`quality::STATS_INTERVAL`).
    Quality(super::LinkQuality),
    /// The video forwarded to this subscriber stopped (true: their downlink cannot hold
    /// it, audio goes on) or is tried again (false); see `downlink`.
    AudioOnly(bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerState {
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

type Reply<T> = oneshot::Sender<Result<T, RtcError>>;

/// What the media loop is asked to do.
pub(crate) enum Command {
    Open {
        tag: u64,
        hearing: Outlets,
        stream_id: Arc<str>,
        events: mpsc::UnboundedSender<SessionEvent>,
        forwarding_initially: bool,
        reply: Reply<()>,
    },
    AcceptOffer {
        tag: u64,
        sdp: String,
        reply: Reply<String>,
    },
    CreateOffer {
        tag: u64,
        reply: Reply<Option<String>>,
    },
    AcceptAnswer {
        tag: u64,
        sdp: String,
        reply: Reply<()>,
    },
    AddCandidate {
        tag: u64,
        candidate: String,
        reply: Reply<()>,
    },
    Subscribe {
        tag: u64,
        outlet: u64,
    },
    RecordSink {
        tag: u64,
        sink: Option<RecordSink>,
    },
    Keyframe {
        outlet: u64,
    },
    /// Moves a participant of a hearing to a room (0 = the hearing; see `Outlet::room`).
    Room {
        hearing: Outlets,
        participant: Arc<str>,
        room: u32,
    },
    Close {
        tag: u64,
    },
}

/// A command sender that wakes the media loop. Cheap to clone.
#[derive(Clone)]
pub(crate) struct EngineHandle {
    tx: std_mpsc::Sender<Command>,
    waker: Arc<mio::Waker>,
}

impl EngineHandle {
    pub(crate) fn new(tx: std_mpsc::Sender<Command>, waker: Arc<mio::Waker>) -> EngineHandle {
        EngineHandle { tx, waker }
    }

    /// Queues a command; false if the media loop is gone.
    pub(crate) fn send(&self, cmd: Command) -> bool {
        if self.tx.send(cmd).is_err() {
            return false;
        }
        let _ = self.waker.wake();
        true
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, RtcError> {
        let (reply, rx) = oneshot::channel();
        if !self.send(make(reply)) {
            return Err(RtcError::Closed);
        }
        rx.await.map_err(|_| RtcError::Closed)?
    }
}

/// The media loop: one thread that owns the media socket(s) and every connection.
/// Shared by all hearings; cheap to clone.
#[derive(Clone)]
pub struct RtcEngine {
    handle: EngineHandle,
    udp_port: u16,
}

impl RtcEngine {
    /// Binds the media UDP port and starts the media loop's thread.
    pub async fn start(cfg: &MediaConfig) -> Result<RtcEngine, RtcError> {
        let (handle, udp_port) = media_loop::spawn(cfg)?;
        Ok(RtcEngine { handle, udp_port })
    }

    /// The UDP port all media uses.
    pub fn udp_port(&self) -> u16 {
        self.udp_port
    }

    /// Puts a participant of the hearing `hearing` in `room`: from the next packet on,
    /// their media reaches only connections of participants in the same room, and they
    /// receive only media from it. Room 0 is the hearing itself; a private consultation
    /// uses another number. Holds across the participant's reconnections.
    pub fn set_room(&self, hearing: Outlets, participant: &str, room: u32) {
        self.handle.send(Command::Room {
            hearing,
            participant: Arc::from(participant),
            room,
        });
    }

    /// A new peer connection; its events arrive on `events` tagged with `tag`; the
    /// tracks it publishes are offered to others under `stream_id`, in the forwarding
    /// scope `outlets` (one per hearing).
    pub async fn session(
        &self,
        tag: u64,
        stream_id: String,
        events: mpsc::UnboundedSender<SessionEvent>,
        outlets: Outlets,
        forwarding_initially: bool,
    ) -> Result<PeerSession, RtcError> {
        let stream_id: Arc<str> = Arc::from(stream_id);
        self.handle
            .ask(|reply| Command::Open {
                tag,
                hearing: outlets,
                stream_id,
                events,
                forwarding_initially,
                reply,
            })
            .await?;
        Ok(PeerSession {
            tag,
            handle: self.handle.clone(),
            subscribed: HashSet::new(),
            open: true,
        })
    }
}

/// Subscribers cannot be more than this many remote tracks at once.
const MAX_SUBSCRIPTIONS: usize = 64;

/// One participant connection inside the media loop. Owned by the hearing task;
/// closing (or dropping) it ends the connection.
pub struct PeerSession {
    tag: u64,
    handle: EngineHandle,
    /// Track ids this connection receives.
    subscribed: HashSet<String>,
    open: bool,
}

impl PeerSession {
    /// Starts (Some) or stops (None) handing this peer's received packets to a recorder.
    pub fn set_record_sink(&self, sink: Option<RecordSink>) {
        self.handle.send(Command::RecordSink {
            tag: self.tag,
            sink,
        });
    }

    /// Applies the peer's offer and returns our answer. The answer holds every server
    /// candidate (they are known up front: the media socket's addresses).
    pub async fn accept_offer(&mut self, sdp: String) -> Result<String, RtcError> {
        let tag = self.tag;
        self.handle
            .ask(|reply| Command::AcceptOffer { tag, sdp, reply })
            .await
    }

    /// Makes a server offer for the subscriptions added since the last one; None when
    /// nothing changed.
    pub async fn create_offer(&mut self) -> Result<Option<String>, RtcError> {
        let tag = self.tag;
        self.handle
            .ask(|reply| Command::CreateOffer { tag, reply })
            .await
    }

    /// Applies the peer's answer to our offer.
    pub async fn accept_answer(&mut self, sdp: String) -> Result<(), RtcError> {
        let tag = self.tag;
        self.handle
            .ask(|reply| Command::AcceptAnswer { tag, sdp, reply })
            .await
    }

    /// Adds a trickled remote candidate (browser JSON shape: `{candidate, sdpMid, ...}`).
    pub async fn add_remote_candidate(
        &mut self,
        candidate: serde_json::Value,
    ) -> Result<(), RtcError> {
        let Some(line) = candidate.get("candidate").and_then(|c| c.as_str()) else {
            return Err(RtcError::BadCandidate);
        };
        if line.is_empty() {
            return Ok(()); // end-of-candidates
        }
        if line.len() > 512 {
            return Err(RtcError::BadCandidate);
        }
        let tag = self.tag;
        let candidate = line.to_owned();
        self.handle
            .ask(|reply| Command::AddCandidate {
                tag,
                candidate,
                reply,
            })
            .await
    }

    /// Sends `track` to this peer (takes effect after the next negotiation). A track
    /// already sent (the same participant reconnected: same outlet) only gets a
    /// keyframe requested for the new connection's media.
    pub async fn subscribe(&mut self, track: &PublishedTrack) -> Result<(), RtcError> {
        if self.subscribed.contains(&track.track_id) {
            track.request_keyframe();
            return Ok(());
        }
        if self.subscribed.len() >= MAX_SUBSCRIPTIONS {
            return Err(RtcError::Negotiation("too many subscriptions".into()));
        }
        self.handle.send(Command::Subscribe {
            tag: self.tag,
            outlet: track.outlet,
        });
        self.subscribed.insert(track.track_id.clone());
        track.request_keyframe();
        Ok(())
    }

    pub fn subscriptions(&self) -> impl Iterator<Item = &str> {
        self.subscribed.iter().map(String::as_str)
    }

    /// Closes the peer connection.
    pub async fn close(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        if std::mem::take(&mut self.open) {
            self.handle.send(Command::Close { tag: self.tag });
        }
    }
}

impl Drop for PeerSession {
    fn drop(&mut self) {
        self.shut();
    }
}
