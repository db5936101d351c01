//! One peer connection per participant connection. Owned by the hearing task (`&mut
//! self`, no locks); webrtc callbacks only forward events into channels.

use super::RtcError;
use super::forward::{
    self, MediaKind, Outlets, PublishedTrack, RecordItem, RecordSink, SenderReportRecord,
};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use webrtc::api::API;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use webrtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use webrtc::rtcp::sender_report::SenderReport;
use webrtc::rtp_transceiver::RTCRtpTransceiverInit;
use webrtc::rtp_transceiver::rtp_receiver::RTCRtpReceiver;
use webrtc::rtp_transceiver::rtp_sender::RTCRtpSender;
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::track::track_local::TrackLocal;
use webrtc::track::track_remote::TrackRemote;

/// An event from a session, tagged with the session's tag.
#[derive(Debug)]
pub struct SessionEvent {
    pub tag: u64,
    pub kind: SessionEventKind,
}

#[derive(Debug)]
pub enum SessionEventKind {
    /// A local ICE candidate to trickle to the peer (browser JSON shape).
    LocalCandidate(serde_json::Value),
    /// The peer connection state changed.
    State(PeerState),
    /// The peer started publishing a track.
    TrackPublished(PublishedTrack),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerState {
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

/// A peer connection and the tracks it sends to its participant.
pub struct PeerSession {
    pc: Arc<RTCPeerConnection>,
    /// Transceivers sending a published track, by track id (one per participant and
    /// kind for the whole hearing: see `forward::Outlet`).
    senders: HashMap<String, Slot>,
    pending_candidates: Vec<RTCIceCandidateInit>,
    record: RecordSink,
}

/// One send transceiver: the published track whose keyframe requests its RTCP feeds.
struct Slot {
    track: Arc<std::sync::Mutex<Option<PublishedTrack>>>,
}

/// Subscribers cannot be more than this many remote tracks at once.
const MAX_SUBSCRIPTIONS: usize = 64;

impl PeerSession {
    pub(crate) async fn new(
        api: &API,
        tag: u64,
        stream_id: String,
        events: mpsc::UnboundedSender<SessionEvent>,
        outlets: Outlets,
        forwarding_initially: bool,
    ) -> Result<PeerSession, RtcError> {
        let record: RecordSink = Arc::default();
        let pc = Arc::new(
            api.new_peer_connection(RTCConfiguration::default())
                .await
                .map_err(|e| RtcError::Setup(e.to_string()))?,
        );

        let ev = events.clone();
        pc.on_ice_candidate(Box::new(move |c| {
            if let Some(c) = c
                .and_then(|c| c.to_json().ok())
                .and_then(|j| serde_json::to_value(j).ok())
            {
                let _ = ev.send(SessionEvent {
                    tag,
                    kind: SessionEventKind::LocalCandidate(c),
                });
            }
            Box::pin(async {})
        }));

        let ev = events.clone();
        pc.on_peer_connection_state_change(Box::new(move |s| {
            let state = match s {
                RTCPeerConnectionState::Connected => Some(PeerState::Connected),
                RTCPeerConnectionState::Connecting | RTCPeerConnectionState::New => {
                    Some(PeerState::Connecting)
                }
                RTCPeerConnectionState::Disconnected => Some(PeerState::Disconnected),
                RTCPeerConnectionState::Failed => Some(PeerState::Failed),
                RTCPeerConnectionState::Closed => Some(PeerState::Closed),
                _ => None,
            };
            if let Some(state) = state {
                let _ = ev.send(SessionEvent {
                    tag,
                    kind: SessionEventKind::State(state),
                });
            }
            Box::pin(async {})
        }));

        // on_track only forwards to a task that owns the forwarding setup.
        let (track_tx, track_rx) =
            mpsc::unbounded_channel::<(Arc<TrackRemote>, Arc<RTCRtpReceiver>)>();
        pc.on_track(Box::new(move |track, receiver, _| {
            let _ = track_tx.send((track, receiver));
            Box::pin(async {})
        }));
        tokio::spawn(accept_tracks(
            track_rx,
            Arc::downgrade(&pc),
            tag,
            stream_id,
            events,
            record.clone(),
            outlets,
            forwarding_initially,
        ));

        Ok(PeerSession {
            pc,
            senders: HashMap::new(),
            pending_candidates: Vec::new(),
            record,
        })
    }

    /// Starts (Some) or stops (None) handing this peer's received packets to a recorder.
    pub fn set_record_sink(&self, sink: Option<std::sync::mpsc::SyncSender<RecordItem>>) {
        if let Ok(mut g) = self.record.lock() {
            *g = sink;
        }
    }

    /// Applies the peer's offer and returns our answer (candidates trickle separately).
    pub async fn accept_offer(&mut self, sdp: String) -> Result<String, RtcError> {
        let offer =
            RTCSessionDescription::offer(sdp).map_err(|e| RtcError::BadSdp(e.to_string()))?;
        self.pc
            .set_remote_description(offer)
            .await
            .map_err(|e| RtcError::BadSdp(e.to_string()))?;
        self.flush_candidates().await;
        let answer = self
            .pc
            .create_answer(None)
            .await
            .map_err(|e| RtcError::Negotiation(e.to_string()))?;
        let sdp = answer.sdp.clone();
        self.pc
            .set_local_description(answer)
            .await
            .map_err(|e| RtcError::Negotiation(e.to_string()))?;
        Ok(sdp)
    }

    /// Applies an offer and returns an answer that already holds every local candidate
    /// (WHIP has no trickle).
    pub async fn accept_offer_gathered(&mut self, sdp: String) -> Result<String, RtcError> {
        let mut gathered = self.pc.gathering_complete_promise().await;
        self.accept_offer(sdp).await?;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), gathered.recv()).await;
        self.pc
            .local_description()
            .await
            .map(|d| d.sdp)
            .ok_or(RtcError::Closed)
    }

    /// Makes a server offer (after tracks were added or removed).
    pub async fn create_offer(&mut self) -> Result<String, RtcError> {
        let offer = self
            .pc
            .create_offer(None)
            .await
            .map_err(|e| RtcError::Negotiation(e.to_string()))?;
        let sdp = offer.sdp.clone();
        self.pc
            .set_local_description(offer)
            .await
            .map_err(|e| RtcError::Negotiation(e.to_string()))?;
        Ok(sdp)
    }

    /// Applies the peer's answer to our offer.
    pub async fn accept_answer(&mut self, sdp: String) -> Result<(), RtcError> {
        let answer =
            RTCSessionDescription::answer(sdp).map_err(|e| RtcError::BadSdp(e.to_string()))?;
        self.pc
            .set_remote_description(answer)
            .await
            .map_err(|e| RtcError::BadSdp(e.to_string()))?;
        self.flush_candidates().await;
        Ok(())
    }

    /// Adds a trickled remote candidate, queued until a remote description exists.
    pub async fn add_remote_candidate(
        &mut self,
        candidate: serde_json::Value,
    ) -> Result<(), RtcError> {
        let init: RTCIceCandidateInit =
            serde_json::from_value(candidate).map_err(|_| RtcError::BadCandidate)?;
        if init.candidate.is_empty() {
            return Ok(()); // end-of-candidates
        }
        if self.pc.remote_description().await.is_none() {
            if self.pending_candidates.len() < 64 {
                self.pending_candidates.push(init);
            }
            return Ok(());
        }
        self.pc
            .add_ice_candidate(init)
            .await
            .map_err(|_| RtcError::BadCandidate)
    }

    async fn flush_candidates(&mut self) {
        for c in std::mem::take(&mut self.pending_candidates) {
            let _ = self.pc.add_ice_candidate(c).await;
        }
    }

    /// Sends `track` to this peer (takes effect after the next negotiation). A track
    /// already sent (the same participant reconnected: same outlet) only gets its
    /// keyframe requests routed to the new connection.
    pub async fn subscribe(&mut self, track: &PublishedTrack) -> Result<(), RtcError> {
        if let Some(slot) = self.senders.get(&track.track_id) {
            if let Ok(mut t) = slot.track.lock() {
                *t = Some(track.clone());
            }
            track.request_keyframe();
            return Ok(());
        }
        if self.senders.len() >= MAX_SUBSCRIPTIONS {
            return Err(RtcError::Negotiation("too many subscriptions".into()));
        }
        let local: Arc<dyn TrackLocal + Send + Sync> = track.local.clone();
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Sendonly,
            send_encodings: vec![],
        };
        let transceiver = self
            .pc
            .add_transceiver_from_track(local, Some(init))
            .await
            .map_err(|e| RtcError::Negotiation(e.to_string()))?;
        let sender = transceiver.sender().await;
        let slot = Slot {
            track: Arc::new(std::sync::Mutex::new(Some(track.clone()))),
        };
        tokio::spawn(drain_rtcp(sender, slot.track.clone()));
        self.senders.insert(track.track_id.clone(), slot);
        track.request_keyframe();
        Ok(())
    }

    pub fn subscriptions(&self) -> impl Iterator<Item = &str> {
        self.senders.keys().map(String::as_str)
    }

    /// Closes the peer connection; forwarding tasks end with it.
    pub async fn close(self) {
        let _ = self.pc.close().await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn accept_tracks(
    mut rx: mpsc::UnboundedReceiver<(Arc<TrackRemote>, Arc<RTCRtpReceiver>)>,
    pc: std::sync::Weak<RTCPeerConnection>,
    tag: u64,
    stream_id: String,
    events: mpsc::UnboundedSender<SessionEvent>,
    record: RecordSink,
    outlets: Outlets,
    forwarding_initially: bool,
) {
    while let Some((remote, receiver)) = rx.recv().await {
        if let Some(kind) = MediaKind::from_codec_type(remote.kind()) {
            tokio::spawn(drain_receiver_rtcp(receiver, kind, record.clone()));
        }
        if let Some(track) = forward::publish(
            remote,
            stream_id.clone(),
            tag,
            pc.clone(),
            record.clone(),
            &outlets,
            forwarding_initially,
        ) {
            let _ = events.send(SessionEvent {
                tag,
                kind: SessionEventKind::TrackPublished(track),
            });
        }
    }
}

/// Reads a subscriber's RTCP for one sender: drives the NACK responder, and turns
/// PLI/FIR into keyframe requests to the publisher.
async fn drain_rtcp(
    sender: Arc<RTCRtpSender>,
    track: Arc<std::sync::Mutex<Option<PublishedTrack>>>,
) {
    while let Ok((packets, _)) = sender.read_rtcp().await {
        let wants_keyframe = packets.iter().any(|p| {
            let any = p.as_any();
            any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
        });
        if wants_keyframe {
            let current = track.lock().ok().and_then(|t| t.clone());
            if let Some(t) = current {
                t.request_keyframe();
            }
        }
    }
}

/// Reads the publisher's RTCP so the interceptors keep running, and hands its sender
/// reports (NTP <-> RTP timestamp) to the recorder, which lines tracks up with them.
async fn drain_receiver_rtcp(receiver: Arc<RTCRtpReceiver>, kind: MediaKind, record: RecordSink) {
    while let Ok((packets, _)) = receiver.read_rtcp().await {
        for p in &packets {
            let Some(sr) = p.as_any().downcast_ref::<SenderReport>() else {
                continue;
            };
            if let Some(tx) = record.lock().ok().as_ref().and_then(|g| g.as_ref()) {
                let _ = tx.try_send(RecordItem::SenderReport(SenderReportRecord {
                    kind,
                    ssrc: sr.ssrc,
                    ntp: sr.ntp_time,
                    rtp_ts: sr.rtp_time,
                    arrival: std::time::SystemTime::now(),
                }));
            }
        }
    }
}
