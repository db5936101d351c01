//! Draining one str0m connection: what it sends goes to the sockets, what it reports
//! (state, received RTP, sender reports, keyframe requests) to the hearing, the recorder
//! and the forwarding queues, which the media loop works off afterwards.

use super::conn::{Conn, RxTrack};
use super::downlink::STARVED_TICKS;
use super::engine::{EngineHandle, PeerState, SessionEventKind};
use super::forward::{
    MediaKind, OutletTable, PublishedTrack, RecordItem, RtpRecord, SenderReportRecord, ntp64,
};
use super::media_loop::MediaSocket;
use super::quality::LinkQuality;
use super::simulcast::Layers;
use super::tcp::TcpStreams;
use crate::recorder::keyframe::{VideoCodec, keyframe_start};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};
use str0m::bwe::BweKind;
use str0m::media::Mid;
use str0m::net::{Protocol, Transmit};
use str0m::rtp::RtpPacket;
use str0m::{Event, IceConnectionState, Output};
use tracing::debug;

/// Longest a drained connection waits when its `Rtc` failed (it is reported failed).
const FAILED_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// A received packet waiting to be written to the subscribers of its outlet.
pub(super) struct Forward {
    pub(super) outlet: u64,
    pub(super) source: (u64, u32),
    pub(super) pkt: RtpPacket,
    pub(super) clock_rate: u32,
    pub(super) video: bool,
    /// A layer of a simulcast line: each subscriber takes one layer (`LayerChoice`).
    pub(super) layered: bool,
    /// Starts a keyframe (only looked for in simulcast layers).
    pub(super) keyframe: bool,
}

/// Work produced while draining one connection for others.
#[derive(Default)]
pub(super) struct Queues {
    pub(super) forward: Vec<Forward>,
    /// Keyframe requests: an outlet, and the layer (SSRC) wanted when it is simulcast
    /// (None: the recorded layer).
    pub(super) keyframe: Vec<(u64, Option<u32>)>,
    pub(super) spare: Vec<Forward>,
    pub(super) spare_keyframe: Vec<(u64, Option<u32>)>,
}

/// TCP goes out at once (framed on its stream); UDP is queued for this wake-up's
/// `sendmmsg` (`MediaLoop::send_udp`).
pub(super) fn transmit(
    sockets: &[MediaSocket],
    tcp: &mut TcpStreams,
    registry: &mio::Registry,
    udp_out: &mut Vec<(usize, Transmit)>,
    t: Transmit,
) {
    if t.proto == Protocol::Tcp {
        tcp.send(t.destination, &t.contents, registry);
        return;
    }
    let at = sockets
        .iter()
        .position(|s| s.advertised == t.source)
        .unwrap_or(0);
    udp_out.push((at, t));
}

/// What draining a connection may touch besides the connection itself.
pub(super) struct DrainCtx<'a> {
    pub(super) sockets: &'a [MediaSocket],
    pub(super) tcp: &'a mut TcpStreams,
    pub(super) registry: &'a mio::Registry,
    pub(super) udp_out: &'a mut Vec<(usize, Transmit)>,
    pub(super) outlets: &'a mut OutletTable,
    pub(super) queues: &'a mut Queues,
    pub(super) handle: &'a EngineHandle,
}

impl DrainCtx<'_> {
    pub(super) fn drain(&mut self, conn: &mut Conn) {
        loop {
            match conn.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    conn.deadline = t;
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    transmit(self.sockets, self.tcp, self.registry, self.udp_out, t)
                }
                Ok(Output::Event(e)) => self.event(conn, e),
                Err(e) => {
                    debug!(conn = conn.tag, error = %e, "media connection error");
                    conn.deadline = Instant::now() + FAILED_RETRY;
                    if !conn.failed {
                        conn.failed = true;
                        conn.set_state(PeerState::Failed);
                    }
                    return;
                }
            }
        }
    }

    fn event(&mut self, conn: &mut Conn, e: Event) {
        match e {
            Event::Connected => {
                conn.ever_connected = true;
                conn.disconnected_since = None;
                conn.set_state(PeerState::Connected);
            }
            Event::IceConnectionStateChange(s) => match s {
                IceConnectionState::Disconnected => {
                    conn.disconnected_since.get_or_insert_with(Instant::now);
                    conn.set_state(PeerState::Disconnected);
                }
                IceConnectionState::Connected | IceConnectionState::Completed => {
                    conn.disconnected_since = None;
                    if conn.ever_connected {
                        conn.set_state(PeerState::Connected);
                    }
                }
                _ => {}
            },
            Event::RtpPacket(pkt) => self.rtp(conn, pkt),
            Event::SenderFeedback(sf) => {
                let Some(rx) = conn.rx.iter().find(|r| r.mid == sf.mid) else {
                    return;
                };
                if let Some(sink) = &conn.record {
                    let _ = sink.try_send(RecordItem::SenderReport(SenderReportRecord {
                        kind: rx.kind,
                        ssrc: *sf.sender_info.ssrc,
                        ntp: ntp64(sf.sender_info.ntp_time),
                        rtp_ts: sf.sender_info.rtp_time.numer() as u32,
                        arrival: SystemTime::now(),
                    }));
                }
            }
            Event::KeyframeRequest(req) => {
                if let Some(sub) = conn.tx.iter().find(|s| s.mid == Some(req.mid)) {
                    self.queues.keyframe.push((sub.outlet, sub.choice.current));
                }
            }
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
                conn.bwe_bps = Some(estimate.as_u64());
            }
            Event::MediaIngressStats(s) => conn.quality.ingress(&s),
            Event::MediaEgressStats(s) => conn.quality.egress(&s),
            Event::PeerStats(s) => {
                if let Some(mut q) = conn.quality.peer(&s) {
                    self.layers_of(conn, &mut q);
                    conn.emit(SessionEventKind::Quality(q));
                    let can_step_down = conn.tx.iter().any(|s| {
                        let lowest = self
                            .outlets
                            .by_id
                            .get(&s.outlet)
                            .filter(|o| o.n_layers > 1)
                            .and_then(|o| o.layers.first())
                            .map(|(ssrc, _)| *ssrc);
                        lowest.is_some_and(|l| s.choice.current.is_some_and(|c| c != l))
                    });
                    let now = Instant::now();
                    let starved = conn.starved_ticks >= STARVED_TICKS;
                    conn.starved_ticks = 0;
                    let decided = conn.downlink.window(q.rtt_ms, starved, can_step_down, now);
                    if let Some(audio_only) = decided {
                        conn.emit(SessionEventKind::AudioOnly(audio_only));
                        if !audio_only {
                            // Video again: each picture starts from a keyframe.
                            self.queues
                                .keyframe
                                .extend(conn.tx.iter().map(|s| (s.outlet, s.choice.want)));
                        }
                    }
                }
            }
            Event::Closed if !conn.failed => {
                conn.failed = true;
                conn.set_state(PeerState::Closed);
            }
            _ => {}
        }
    }

    fn rtp(&mut self, conn: &mut Conn, pkt: RtpPacket) {
        let Some(mid) = conn.mid_of(pkt.header.ssrc) else {
            return;
        };
        let idx = match conn.rx.iter().position(|r| r.mid == mid) {
            Some(i) => i,
            None => match self.publish(conn, mid, &pkt) {
                Some(i) => i,
                None => return,
            },
        };
        let Some(rx) = conn.rx.get_mut(idx) else {
            return;
        };
        rx.counters.received.fetch_add(1, Ordering::Relaxed);
        let ssrc = *pkt.header.ssrc;
        let mut keyframe = false;
        let mut recorded = true;
        if rx.kind == MediaKind::Video {
            // str0m's receive time: no clock read per packet.
            let now = pkt.timestamp;
            // A few bytes read: the picture size is known for every line.
            let key = keyframe_start(rx.vcodec, &pkt.payload);
            keyframe = key.is_some();
            rx.layers.on_packet(ssrc, pkt.payload.len(), key, now);
            if rx.simulcast {
                let take = rx.layers.record(ssrc, keyframe, now);
                recorded = take.take;
                if let Some(ask) = take.ask {
                    self.queues.keyframe.push((rx.outlet, Some(ask)));
                }
            }
        }
        if let (true, Some(sink)) = (recorded, &conn.record) {
            let _ = sink.try_send(RecordItem::Rtp(RtpRecord {
                kind: rx.kind,
                mime_type: rx.codec.mime_type.clone(),
                clock_rate: rx.codec.clock_rate,
                channels: rx.codec.channels,
                seq: pkt.header.sequence_number,
                timestamp: pkt.header.timestamp,
                marker: pkt.header.marker,
                ssrc,
                payload: pkt.payload.clone(),
                arrival: SystemTime::now(),
            }));
        }
        if !rx.forwarding.load(Ordering::Relaxed) {
            return;
        }
        rx.counters.forwarded.fetch_add(1, Ordering::Relaxed);
        let outlet = rx.outlet;
        if let Some(o) = self.outlets.by_id.get_mut(&outlet) {
            if o.source.map(|(t, _)| t) != Some(conn.tag) {
                o.source = Some((conn.tag, mid));
            }
            if o.subscribers.iter().all(|t| *t == conn.tag) {
                return; // nobody to send to
            }
        }
        let fwd = Forward {
            outlet,
            source: (conn.tag, ssrc),
            clock_rate: rx.codec.clock_rate,
            video: rx.kind == MediaKind::Video,
            layered: rx.simulcast,
            keyframe,
            pkt,
        };
        self.queues.forward.push(fwd);
    }

    /// The video side of a quality window: the layers this peer's camera sends, and how
    /// many pictures it receives below their top layer.
    fn layers_of(&self, conn: &Conn, q: &mut LinkQuality) {
        let now = Instant::now();
        if let Some(v) = conn.rx.iter().find(|r| r.kind == MediaKind::Video) {
            let (n, best) = v.layers.sent(now);
            q.layers_sent = Some(n);
            q.height_sent = best.map(|(_, h)| h);
        }
        let reduced = conn
            .tx
            .iter()
            .filter(|s| {
                let top = self
                    .outlets
                    .by_id
                    .get(&s.outlet)
                    .filter(|o| o.n_layers > 1 && o.room == conn.room)
                    .and_then(|o| o.layers.get(o.n_layers - 1))
                    .map(|(ssrc, _)| *ssrc);
                top.is_some_and(|t| s.choice.current.is_some_and(|c| c != t))
            })
            .count();
        q.reduced = Some(u8::try_from(reduced).unwrap_or(u8::MAX));
    }

    /// The first packet of a new media line: attach it to its outlet and tell the
    /// hearing task. Returns its index in `conn.rx`.
    fn publish(&mut self, conn: &mut Conn, mid: Mid, pkt: &RtpPacket) -> Option<usize> {
        let codec = conn.codec_of(pkt.header.payload_type)?;
        let kind = conn
            .rtc
            .media(mid)
            .map(|m| MediaKind::from_str0m(m.kind()))?;
        if conn.rx.len() >= 16 {
            return None;
        }
        let simulcast = kind == MediaKind::Video
            && conn
                .rtc
                .direct_api()
                .stream_rx(&pkt.header.ssrc)
                .is_some_and(|s| s.rid().is_some());
        let vcodec = VideoCodec::from_mime(&codec.mime_type);
        let outlet = self
            .outlets
            .attach(conn.hearing, &conn.participant, kind, &codec, conn.tag);
        let track_id = self.outlets.by_id.get(&outlet)?.track_id.clone();
        if let Some(o) = self.outlets.by_id.get_mut(&outlet) {
            o.source = Some((conn.tag, mid));
        }
        let forwarding = Arc::new(AtomicBool::new(conn.forwarding_initially));
        let counters = Arc::default();
        conn.rx.push(RxTrack {
            mid,
            kind,
            outlet,
            codec,
            forwarding: forwarding.clone(),
            counters: Arc::clone(&counters),
            last_pli: None,
            vcodec,
            simulcast,
            layers: Layers::new(pkt.timestamp),
        });
        conn.emit(SessionEventKind::TrackPublished(PublishedTrack {
            kind,
            track_id,
            stream_id: conn.participant.to_string(),
            outlet,
            forwarding,
            counters,
            engine: self.handle.clone(),
        }));
        // A new file and new subscribers both want a keyframe early.
        if kind == MediaKind::Video && !simulcast {
            self.queues.keyframe.push((outlet, None));
        }
        Some(conn.rx.len() - 1)
    }
}
