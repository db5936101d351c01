//! One connection inside the media loop: its str0m `Rtc` (RTP mode, ICE-lite), the tracks
//! it publishes, the outlets it receives, and SDP negotiation. Everything here runs on
//! the media loop's thread; nothing is shared.

use super::RtcError;
use super::engine::{PeerState, SessionEvent, SessionEventKind};
use super::forward::{Codec, MediaKind, OutletTable, Outlets, RecordSink, Rewrite, TrackCounters};
use super::simulcast::{LayerChoice, Layers};
use crate::recorder::keyframe::VideoCodec;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use str0m::bwe::Bitrate;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, Mid, Pt};
use str0m::rtp::Ssrc;
use str0m::{Candidate, Rtc};
use tokio::sync::mpsc;

/// Most media sections an offer may hold (a browser publishes two; each subscription
/// adds one on the server's side).
const MAX_MEDIA_SECTIONS: usize = 80;

/// A received track: the publisher's media line and the outlet it feeds.
pub(super) struct RxTrack {
    pub mid: Mid,
    pub kind: MediaKind,
    pub outlet: u64,
    pub codec: Codec,
    pub forwarding: Arc<AtomicBool>,
    pub counters: Arc<TrackCounters>,
    pub last_pli: Option<Instant>,
    /// Video: which codec (keyframes are looked for in simulcast layers).
    pub vcodec: VideoCodec,
    /// The line is simulcast (its packets carry rids): layers are chosen per receiver.
    pub simulcast: bool,
    /// Video: its layers (one for a plain line), their bitrates and the recorded one.
    pub layers: Layers,
}

/// An outlet this connection receives: its media line once negotiated, the payload
/// type its codec has here, and the numbering of this copy.
pub(super) struct TxSub {
    pub outlet: u64,
    pub mid: Option<Mid>,
    pub pt: Option<Pt>,
    pub rewrite: Rewrite,
    /// The layer received of a simulcast outlet.
    pub choice: LayerChoice,
}

pub(super) struct Conn {
    pub rtc: Rtc,
    pub hearing: Outlets,
    pub participant: Arc<str>,
    pub events: mpsc::UnboundedSender<SessionEvent>,
    pub tag: u64,
    pub record: Option<RecordSink>,
    pub forwarding_initially: bool,
    /// The room this connection's participant is in (see `Outlet::room`): it receives
    /// only outlets of the same room.
    pub room: u32,
    pub rx: Vec<RxTrack>,
    pub ssrc_mid: Vec<(Ssrc, Mid)>,
    pub tx: Vec<TxSub>,
    pub pending: Option<SdpPendingOffer>,
    pub deadline: Instant,
    pub state: PeerState,
    pub opened_at: Instant,
    pub ever_connected: bool,
    pub disconnected_since: Option<Instant>,
    /// Failed was reported: the hearing task will close it.
    pub failed: bool,
    /// The peer's ICE credentials, from its last description.
    pub remote_ice: Option<str0m::IceCreds>,
    /// The link statistics of the current window.
    pub quality: super::quality::QualityWindow,
    /// Whether this subscriber's downlink holds video (`downlink`).
    pub downlink: super::downlink::Downlink,
    /// str0m's latest estimate of the bandwidth toward this peer (TWCC), bits/s.
    pub bwe_bps: Option<u64>,
    /// Layer ticks of this quality window whose estimate could not hold audio and the
    /// smallest layers (`downlink`).
    pub starved_ticks: u8,
    /// Watches for an estimate stuck below what the subscriber wants (`bwe_recover`).
    pub recovery: super::bwe_recover::Recovery,
}

/// Where str0m's bandwidth estimate toward a peer starts (it probes up from there).
const INITIAL_ESTIMATE_BPS: u64 = 1_500_000;

/// How long ICE may stay disconnected before the connection counts as failed.
pub(super) const FAILED_AFTER: Duration = Duration::from_secs(15);
/// How long a connection may take to connect at all.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

impl Conn {
    pub fn new(
        tag: u64,
        hearing: Outlets,
        participant: Arc<str>,
        events: mpsc::UnboundedSender<SessionEvent>,
        forwarding_initially: bool,
        candidates: &[Candidate],
        now: Instant,
    ) -> Conn {
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .set_ice_lite(true)
            .set_stats_interval(Some(super::quality::STATS_INTERVAL))
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            .enable_bwe(Some(Bitrate::bps(INITIAL_ESTIMATE_BPS)))
            .build(now);
        for c in candidates {
            rtc.add_local_candidate(c.clone());
        }
        Conn {
            rtc,
            hearing,
            participant,
            events,
            tag,
            record: None,
            forwarding_initially,
            room: 0,
            rx: Vec::new(),
            ssrc_mid: Vec::new(),
            tx: Vec::new(),
            pending: None,
            deadline: now,
            state: PeerState::Connecting,
            opened_at: now,
            ever_connected: false,
            disconnected_since: None,
            failed: false,
            remote_ice: None,
            quality: Default::default(),
            downlink: Default::default(),
            bwe_bps: None,
            starved_ticks: 0,
            recovery: Default::default(),
        }
    }

    pub fn emit(&self, kind: SessionEventKind) {
        let _ = self.events.send(SessionEvent {
            tag: self.tag,
            kind,
        });
    }

    pub fn set_state(&mut self, state: PeerState) {
        if self.state != state {
            self.state = state;
            self.emit(SessionEventKind::State(state));
        }
    }

    pub fn accept_offer(&mut self, sdp: &str) -> Result<String, RtcError> {
        if self.pending.is_some() {
            return Err(RtcError::Negotiation(
                "an offer of ours is outstanding".into(),
            ));
        }
        check_media_sections(sdp)?;
        let ours: Vec<String> = self
            .tx
            .iter()
            .filter_map(|t| t.mid.map(|m| m.to_string()))
            .collect();
        let sdp = &publish_only(sdp, &ours);
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| RtcError::BadSdp(e.to_string()))?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| RtcError::BadSdp(e.to_string()))?;
        self.remote_ice = ice_creds(sdp);
        Ok(answer.to_sdp_string())
    }

    /// A server offer adding a send-only media line for every new subscription.
    pub fn create_offer(&mut self, outlets: &OutletTable) -> Result<Option<String>, RtcError> {
        if self.pending.is_some() {
            return Err(RtcError::Negotiation(
                "an offer is already outstanding".into(),
            ));
        }
        let mut api = self.rtc.sdp_api();
        for sub in self.tx.iter_mut().filter(|s| s.mid.is_none()) {
            let Some(o) = outlets.by_id.get(&sub.outlet) else {
                continue;
            };
            let mid = api.add_media(
                o.kind.to_str0m(),
                Direction::SendOnly,
                Some(o.participant.to_string()),
                Some(o.track_id.clone()),
                None,
            );
            sub.mid = Some(mid);
        }
        match api.apply() {
            Some((offer, pending)) => {
                self.pending = Some(pending);
                Ok(Some(offer.to_sdp_string()))
            }
            None => Ok(None),
        }
    }

    pub fn accept_answer(&mut self, sdp: &str, outlets: &OutletTable) -> Result<(), RtcError> {
        let Some(pending) = self.pending.take() else {
            return Err(RtcError::Negotiation("no offer is outstanding".into()));
        };
        check_media_sections(sdp)?;
        let answer =
            SdpAnswer::from_sdp_string(sdp).map_err(|e| RtcError::BadSdp(e.to_string()))?;
        // Some peers (webrtc-rs among them) answer with new ICE credentials although we
        // asked for no ICE restart. str0m refuses that as against the spec; an ICE-lite
        // server only answers the peer's checks, so taking the new credentials is safe,
        // and refusing would leave the peer without the media it was offered.
        let creds = ice_creds(sdp);
        if creds.is_some() && creds != self.remote_ice {
            if let Some(c) = creds.clone() {
                self.rtc.direct_api().set_remote_ice_credentials(c);
            }
            self.remote_ice = creds;
        }
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| RtcError::BadSdp(e.to_string()))?;
        self.resolve_payload_types(outlets);
        Ok(())
    }

    /// Finds, for each negotiated subscription, the payload type its outlet's codec
    /// has on this connection (None: the peer cannot receive that codec).
    fn resolve_payload_types(&mut self, outlets: &OutletTable) {
        for sub in self.tx.iter_mut() {
            let (Some(mid), None) = (sub.mid, sub.pt) else {
                continue;
            };
            let Some(o) = outlets.by_id.get(&sub.outlet) else {
                continue;
            };
            let remote = self
                .rtc
                .media(mid)
                .map(|m| m.remote_pts().to_vec())
                .unwrap_or_default();
            sub.pt = self
                .rtc
                .codec_config()
                .params()
                .iter()
                .filter(|p| remote.contains(&p.pt()))
                .find(|p| same_codec(p, &o.codec.params))
                .map(|p| p.pt());
        }
    }

    pub fn add_remote_candidate(
        &mut self,
        line: &str,
        policy: CandidatePolicy,
    ) -> Result<(), RtcError> {
        let line = line.strip_prefix("a=").unwrap_or(line);
        let c = match Candidate::from_sdp_string(line) {
            Ok(c) => c,
            // Browsers hide host addresses behind mDNS names; ICE-lite needs no remote
            // candidates, so such a candidate is simply not used.
            Err(_) if line.contains(".local ") => return Ok(()),
            Err(_) => return Err(RtcError::BadCandidate),
        };
        if !candidate_ip_allowed(c.addr().ip(), policy) {
            return Ok(()); // ignored, not an error: the peer did nothing wrong
        }
        self.rtc.add_remote_candidate(c);
        Ok(())
    }

    pub fn mid_of(&mut self, ssrc: Ssrc) -> Option<Mid> {
        if let Some((_, mid)) = self.ssrc_mid.iter().find(|(s, _)| *s == ssrc) {
            return Some(*mid);
        }
        let mid = self.rtc.direct_api().stream_rx(&ssrc).map(|s| s.mid())?;
        if self.ssrc_mid.len() < 64 {
            self.ssrc_mid.push((ssrc, mid));
        }
        Some(mid)
    }

    /// The codec of a payload type of this connection.
    pub fn codec_of(&self, pt: Pt) -> Option<Codec> {
        let p = self
            .rtc
            .codec_config()
            .params()
            .iter()
            .find(|p| p.pt() == pt)?;
        let spec = p.spec();
        let (kind, name) = match spec.codec {
            str0m::format::Codec::Opus => ("audio", "opus"),
            str0m::format::Codec::Vp8 => ("video", "VP8"),
            str0m::format::Codec::Vp9 => ("video", "VP9"),
            str0m::format::Codec::H264 => ("video", "H264"),
            str0m::format::Codec::Av1 => ("video", "AV1"),
            _ => return None,
        };
        Some(Codec {
            params: *p,
            mime_type: Arc::from(format!("{kind}/{name}")),
            clock_rate: spec.clock_rate.get(),
            channels: spec.channels.map(u16::from).unwrap_or(0),
        })
    }
}

fn same_codec(a: &str0m::format::PayloadParams, b: &str0m::format::PayloadParams) -> bool {
    let (a, b) = (a.spec(), b.spec());
    if a.codec != b.codec {
        return false;
    }
    if a.codec == str0m::format::Codec::H264 {
        // Profile and packetization mode must match for a stream to be decodable.
        // profile_idc and constraints; the level may differ
        return a.format.profile_level_id.map(|v| v >> 8)
            == b.format.profile_level_id.map(|v| v >> 8)
            && a.format.packetization_mode == b.format.packetization_mode;
    }
    true
}

/// The peer's own media lines carry what it publishes: the server never sends on them
/// (it sends on the lines it adds in its own offers, one per subscription). So in an
/// offer, every `sendrecv` line not among `server_mids` is made `sendonly` from the
/// peer's side, and str0m answers `recvonly`: no send stream is declared that would
/// never carry media, and the browser gets no empty remote track (it would show an
/// unknown participant). A `recvonly` line is left alone: answering it `inactive` made
/// webrtc-rs peers lose the bundled transport.
fn publish_only(sdp: &str, server_mids: &[String]) -> String {
    let mut out = String::with_capacity(sdp.len());
    let mut sections = sdp.split("\r\nm=");
    if let Some(session) = sections.next() {
        out.push_str(session);
    }
    for section in sections {
        out.push_str("\r\nm=");
        let mid = section
            .split("\r\n")
            .find_map(|l| l.strip_prefix("a=mid:"))
            .map(str::trim);
        if mid.is_some_and(|m| server_mids.iter().any(|s| s == m)) {
            out.push_str(section);
            continue;
        }
        let mut first = true;
        for line in section.split("\r\n") {
            if !first {
                out.push_str("\r\n");
            }
            first = false;
            out.push_str(match line {
                "a=sendrecv" => "a=sendonly",
                other => other,
            });
        }
    }
    out
}

/// The first `a=ice-ufrag` / `a=ice-pwd` of a description.
fn ice_creds(sdp: &str) -> Option<str0m::IceCreds> {
    let find = |key: &str| {
        sdp.lines()
            .find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_owned()))
    };
    Some(str0m::IceCreds {
        ufrag: find("a=ice-ufrag:")?,
        pass: find("a=ice-pwd:")?,
    })
}

fn check_media_sections(sdp: &str) -> Result<(), RtcError> {
    let n = sdp.lines().filter(|l| l.starts_with("m=")).count();
    if n > MAX_MEDIA_SECTIONS {
        return Err(RtcError::BadSdp(format!("{n} media sections")));
    }
    Ok(())
}

/// Which remote candidate addresses a connection uses (media config).
#[derive(Clone, Copy, Debug)]
pub struct CandidatePolicy {
    /// Only loopback (tests, single-machine demos).
    pub loopback_only: bool,
    /// Private networks (RFC 1918, shared 100.64/10, IPv6 ULA) too: only when the server
    /// itself sits on one (a court's LAN).
    pub private: bool,
}

/// Remote candidates the server may send to: never link-local (cloud metadata lives
/// there), multicast, broadcast or unspecified; private networks only when configured
/// for them (an ICE-lite server needs no remote candidate to connect: it answers the
/// peer's checks from wherever they come, so ignoring one costs nothing); loopback only
/// in loopback mode.
pub(super) fn candidate_ip_allowed(ip: std::net::IpAddr, policy: CandidatePolicy) -> bool {
    use std::net::IpAddr;
    if policy.loopback_only {
        return ip.is_loopback();
    }
    if is_private(ip) && !policy.private {
        return false;
    }
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_loopback())
        }
        IpAddr::V6(v6) => {
            let link_local = (v6.segments()[0] & 0xffc0) == 0xfe80;
            !(link_local || v6.is_multicast() || v6.is_unspecified() || v6.is_loopback())
        }
    }
}

/// RFC 1918, shared address space (100.64/10) and IPv6 unique-local (fc00::/7, where a
/// cloud's fd00:ec2::254 metadata service lives).
pub fn is_private(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || (a == 100 && (64..128).contains(&b))
        }
        std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_addresses() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let lo = CandidatePolicy {
            loopback_only: true,
            private: false,
        };
        let public = CandidatePolicy {
            loopback_only: false,
            private: false,
        };
        let lan = CandidatePolicy {
            loopback_only: false,
            private: true,
        };
        assert!(candidate_ip_allowed(ip("127.0.0.1"), lo));
        assert!(!candidate_ip_allowed(ip("192.0.2.1"), lo));
        assert!(candidate_ip_allowed(ip("192.0.2.1"), public));
        for never in [
            "169.254.169.254",
            "fe80::1",
            "224.0.0.1",
            "0.0.0.0",
            "127.0.0.1",
        ] {
            assert!(!candidate_ip_allowed(ip(never), public), "{never}");
            assert!(!candidate_ip_allowed(ip(never), lan), "{never}");
        }
        for private in [
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.20",
            "100.64.0.1",
            "fd00:ec2::254",
            "fc00::1",
        ] {
            assert!(!candidate_ip_allowed(ip(private), public), "{private}");
            assert!(candidate_ip_allowed(ip(private), lan), "{private}");
        }
        assert!(candidate_ip_allowed(ip("2001:db8::1"), public));
    }

    #[test]
    fn the_peers_own_lines_become_publish_only() {
        let offer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=recvonly\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:srv\r\na=recvonly\r\n";
        let out = publish_only(offer, &["srv".to_owned()]);
        let dirs: Vec<&str> = out
            .split("\r\n")
            .filter(|l| ["a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"].contains(l))
            .collect();
        assert_eq!(dirs, ["a=sendonly", "a=recvonly", "a=recvonly"]);
        assert!(out.starts_with("v=0\r\no=- 1 1"));
        assert!(out.ends_with("a=recvonly\r\n"));
    }

    #[test]
    fn too_many_media_sections() {
        let many = "v=0\r\n".to_owned() + &"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n".repeat(81);
        assert!(matches!(
            check_media_sections(&many),
            Err(RtcError::BadSdp(_))
        ));
        assert!(check_media_sections("v=0\r\nm=audio 9 x 1\r\n").is_ok());
    }
}
