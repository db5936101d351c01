//! One benchmark joiner: opens its invite link, publishes (or only receives), and marks
//! the moment of each join step relative to the start of the WebSocket connect. It owns
//! only its own peer; it never waits without a deadline.

use crate::common::peer::Peer;
use serde_json::json;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::MediaEngine;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{API, APIBuilder};
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice_transport::ice_connection_state::RTCIceConnectionState;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::rtp_transceiver::RTCRtpTransceiverInit;
use webrtc::rtp_transceiver::rtp_codec::RTPCodecType;
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;

/// The steps of a join, in the order they normally happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// WebSocket handshake done (and the client peer connection object created).
    WsOpen,
    /// `admitted` received (the joiner was admitted before it connected).
    Admitted,
    /// ICE connectivity established (`iceConnectionState` connected).
    IceConnected,
    /// Peer connection connected (ICE + DTLS handshake done).
    PcConnected,
    /// First RTP packet of the judge's video.
    FirstRtp,
    /// First judge-video RTP packet with the marker bit (it completes a frame).
    FirstFrame,
    /// Last packet of the first complete, gap-free VP8 keyframe (decodable picture).
    FirstKeyframe,
}

pub const STEPS: [Step; 7] = [
    Step::WsOpen,
    Step::Admitted,
    Step::IceConnected,
    Step::PcConnected,
    Step::FirstRtp,
    Step::FirstFrame,
    Step::FirstKeyframe,
];

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::WsOpen => "websocket open",
            Step::Admitted => "admitted",
            Step::IceConnected => "ICE connected",
            Step::PcConnected => "DTLS connected",
            Step::FirstRtp => "first video RTP",
            Step::FirstFrame => "first video frame",
            Step::FirstKeyframe => "first keyframe",
        }
    }
}

/// When each step happened, as time since the WebSocket connect started.
pub struct Marks {
    t0: Instant,
    at: [OnceLock<Duration>; STEPS.len()],
    keyframe: Notify,
}

impl Default for Marks {
    fn default() -> Marks {
        Marks::new()
    }
}

impl Marks {
    /// Starts the clock: the link is opened now.
    pub fn new() -> Marks {
        Marks {
            t0: Instant::now(),
            at: Default::default(),
            keyframe: Notify::new(),
        }
    }

    pub fn mark(&self, step: Step) {
        if let Some(slot) = self.at.get(step as usize) {
            let _ = slot.set(self.t0.elapsed());
        }
        if step == Step::FirstKeyframe {
            self.keyframe.notify_waiters();
        }
    }

    pub fn get(&self, step: Step) -> Option<Duration> {
        self.at.get(step as usize).and_then(|s| s.get().copied())
    }

    /// Returns once the first keyframe is marked (at once if it already is).
    pub async fn keyframe(&self) {
        loop {
            let notified = self.keyframe.notified();
            if self.get(Step::FirstKeyframe).is_some() {
                return;
            }
            notified.await;
        }
    }
}

/// The joiners' WebRTC API: loopback only, like the tests' client (or only the address
/// `only`: Janus's libnice skips loopback), but nominating a peer-reflexive pair after
/// `prflx_wait`. webrtc-rs waits 1 s by default; the server's trickled candidate
/// usually arrives after its first connectivity check, so the client first knows the
/// server as peer-reflexive and would wait that second, which browsers do not.
pub fn joiner_api(prflx_wait: Duration, only: Option<IpAddr>) -> anyhow::Result<API> {
    let mut se = SettingEngine::default();
    match only {
        Some(only) => se.set_ip_filter(Box::new(move |ip| ip == only)),
        None => {
            se.set_include_loopback_candidate(true);
            se.set_ip_filter(Box::new(|ip| ip.is_loopback()));
        }
    }
    se.set_network_types(vec![NetworkType::Udp4]);
    se.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    se.set_prflx_acceptance_min_wait(Some(prflx_wait));
    let mut m = MediaEngine::default();
    m.register_default_codecs()?;
    let registry = register_default_interceptors(Registry::new(), &mut m)?;
    Ok(APIBuilder::new()
        .with_media_engine(m)
        .with_interceptor_registry(registry)
        .with_setting_engine(se)
        .build())
}

/// A joiner that got at least a socket; `peer` is kept open until the round ends.
pub struct Joined {
    pub marks: Arc<Marks>,
    pub peer: Peer,
    /// Why it did not reach the first keyframe, if it did not.
    pub failure: Option<String>,
}

/// Opens `url` and goes through the whole join, waiting at most `deadline` for the
/// judge's (`judge` = participant id = stream id) first keyframe.
pub async fn join(
    api: Arc<API>,
    url: String,
    judge: String,
    publish: bool,
    deadline: Duration,
) -> Joined {
    let marks = Arc::new(Marks::new());
    let mut peer = Peer::connect(&api, &url, None).await;
    marks.mark(Step::WsOpen);
    watch(&peer.pc, &marks, Some(judge));
    let steps = async {
        peer.wait_type("admitted").await;
        marks.mark(Step::Admitted);
        if publish {
            peer.publish().await;
        } else {
            offer_receive_only(&peer).await?;
        }
        marks.keyframe().await;
        Ok(())
    };
    let failure = match tokio::time::timeout(deadline, steps).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(format!("no keyframe within {deadline:?}")),
    };
    Joined {
        marks,
        peer,
        failure,
    }
}

/// Replaces the peer connection's track handler with one that times the judge's video
/// (`judge` = its stream id; `None`: any video track), and marks the ICE and DTLS
/// milestones. The callbacks hold only `marks`, never the peer.
pub fn watch(pc: &RTCPeerConnection, marks: &Arc<Marks>, judge: Option<String>) {
    let m = marks.clone();
    pc.on_ice_connection_state_change(Box::new(move |s| {
        if s == RTCIceConnectionState::Connected {
            m.mark(Step::IceConnected);
        }
        Box::pin(async {})
    }));
    let m = marks.clone();
    pc.on_peer_connection_state_change(Box::new(move |s| {
        if s == RTCPeerConnectionState::Connected {
            m.mark(Step::PcConnected);
        }
        Box::pin(async {})
    }));
    let m = marks.clone();
    pc.on_track(Box::new(move |track, _, _| {
        let timed = judge.as_ref().is_none_or(|j| track.stream_id() == *j)
            && track.kind() == RTPCodecType::Video;
        let m = m.clone();
        tokio::spawn(async move {
            let mut frame = FrameTracker::default();
            while let Ok((pkt, _)) = track.read_rtp().await {
                if !timed {
                    continue; // drained so the receive buffers never fill
                }
                m.mark(Step::FirstRtp);
                if pkt.header.marker {
                    m.mark(Step::FirstFrame);
                }
                if frame.push(pkt.header.sequence_number, pkt.header.marker, &pkt.payload) {
                    m.mark(Step::FirstKeyframe);
                }
            }
        });
        Box::pin(async {})
    }));
}

/// Offers one receive-only audio and one receive-only video section.
async fn offer_receive_only(peer: &Peer) -> Result<(), String> {
    for kind in [RTPCodecType::Audio, RTPCodecType::Video] {
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Recvonly,
            send_encodings: vec![],
        };
        peer.pc
            .add_transceiver_from_kind(kind, Some(init))
            .await
            .map_err(|e| format!("transceiver: {e}"))?;
    }
    let offer = peer
        .pc
        .create_offer(None)
        .await
        .map_err(|e| format!("offer: {e}"))?;
    peer.pc
        .set_local_description(offer.clone())
        .await
        .map_err(|e| format!("local description: {e}"))?;
    peer.send(json!({"type": "offer", "sdp": offer.sdp}));
    Ok(())
}

/// Follows VP8 frames packet by packet; says when a gap-free keyframe completes.
#[derive(Default)]
struct FrameTracker {
    /// (frame is a keyframe, last sequence number seen of it)
    current: Option<(bool, u16)>,
}

impl FrameTracker {
    fn push(&mut self, seq: u16, marker: bool, payload: &[u8]) -> bool {
        self.current = match (vp8_frame_start(payload), self.current) {
            (Some(key), _) => Some((key, seq)),
            (None, Some((key, last))) if last.wrapping_add(1) == seq => Some((key, seq)),
            _ => None,
        };
        let complete_key = marker && matches!(self.current, Some((true, _)));
        if marker {
            self.current = None;
        }
        complete_key
    }
}

/// For the first packet of a VP8 frame (RFC 7741: S=1, partition 0), whether the frame
/// is a keyframe; `None` for any other packet.
fn vp8_frame_start(p: &[u8]) -> Option<bool> {
    let b0 = *p.first()?;
    if b0 & 0x10 == 0 || b0 & 0x07 != 0 {
        return None;
    }
    let mut i = 1;
    if b0 & 0x80 != 0 {
        let ext = *p.get(1)?;
        i = 2;
        if ext & 0x80 != 0 {
            i += if *p.get(i)? & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            i += 1;
        }
        if ext & 0x30 != 0 {
            i += 1;
        }
    }
    Some(*p.get(i)? & 0x01 == 0)
}
