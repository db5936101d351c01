//! SFU forwarding: each published remote track gets one local track that every
//! subscriber's peer connection shares (webrtc-rs rewrites SSRC and payload type per
//! binding). A reader task per published track moves packets from the publisher to the
//! local track, tees them to the recorder, and turns keyframe requests into PLIs.

use bytes::Bytes;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use webrtc::rtp_transceiver::rtp_codec::RTPCodecType;
use webrtc::track::track_local::TrackLocalWriter;
use webrtc::track::track_local::track_local_static_rtp::TrackLocalStaticRTP;
use webrtc::track::track_remote::TrackRemote;

/// Audio or video.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    pub(crate) fn from_codec_type(t: RTPCodecType) -> Option<MediaKind> {
        match t {
            RTPCodecType::Audio => Some(MediaKind::Audio),
            RTPCodecType::Video => Some(MediaKind::Video),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
        }
    }
}

/// One received RTP packet, as handed to the recorder (no webrtc types).
#[derive(Clone, Debug)]
pub struct RtpRecord {
    pub kind: MediaKind,
    /// e.g. `video/VP8`, `audio/opus`, `video/H264`.
    pub mime_type: Arc<str>,
    pub clock_rate: u32,
    pub channels: u16,
    pub seq: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub ssrc: u32,
    pub payload: Bytes,
    pub arrival: SystemTime,
}

/// An RTCP sender report of a publisher: its wall clock (64-bit NTP) at an RTP
/// timestamp of one of its streams, as handed to the recorder (no webrtc types).
#[derive(Clone, Copy, Debug)]
pub struct SenderReportRecord {
    pub kind: MediaKind,
    pub ssrc: u32,
    pub ntp: u64,
    pub rtp_ts: u32,
    pub arrival: SystemTime,
}

/// What a session hands its recorder, in arrival order.
#[derive(Clone, Debug)]
pub enum RecordItem {
    Rtp(RtpRecord),
    SenderReport(SenderReportRecord),
}

/// Where a session's received packets go for recording; swapped at run time (the
/// recording starts when the hearing opens, possibly mid-connection).
pub type RecordSink = Arc<std::sync::Mutex<Option<std::sync::mpsc::SyncSender<RecordItem>>>>;

#[derive(Default, Debug)]
struct TrackCounters {
    received: AtomicU64,
    forwarded: AtomicU64,
}

/// The outgoing side of one participant's audio or video, kept for the whole hearing:
/// every reconnection of that participant feeds the same local track, with sequence
/// numbers and timestamps rewritten to continue where the last connection stopped. So
/// subscribers keep one receiver per participant and kind (no renegotiation, no new
/// transceivers on a rejoin), and SRTP replay protection never sees a sequence jump.
#[derive(Clone)]
pub struct Outlet {
    local: Arc<TrackLocalStaticRTP>,
    mime_type: String,
    track_id: String,
    rewrite: Arc<std::sync::Mutex<Rewrite>>,
}

#[derive(Default)]
struct Rewrite {
    /// (connection tag, SSRC) of the source being forwarded.
    source: Option<(u64, u32)>,
    seq_offset: u16,
    ts_offset: u32,
    last_seq: u16,
    last_ts: u32,
    last_at: Option<Instant>,
}

impl Rewrite {
    /// Rewrites one packet's sequence number and timestamp in place.
    fn apply(&mut self, tag: u64, clock_rate: u32, header: &mut webrtc::rtp::header::Header) {
        let src = (tag, header.ssrc);
        if self.source != Some(src) {
            if let Some(at) = self.last_at {
                // Continue one step after the last packet sent, and advance the clock by
                // the time that passed, so the receiver sees a gap, not a jump back.
                let gap = (at.elapsed().as_secs_f64() * f64::from(clock_rate)).max(1.0) as u32;
                self.seq_offset = self
                    .last_seq
                    .wrapping_add(1)
                    .wrapping_sub(header.sequence_number);
                self.ts_offset = self
                    .last_ts
                    .wrapping_add(gap)
                    .wrapping_sub(header.timestamp);
            }
            self.source = Some(src);
        }
        header.sequence_number = header.sequence_number.wrapping_add(self.seq_offset);
        header.timestamp = header.timestamp.wrapping_add(self.ts_offset);
        // Keep the newest (reordered packets do not move the continuation point back).
        if self.last_at.is_none() || header.sequence_number.wrapping_sub(self.last_seq) < 0x8000 {
            self.last_seq = header.sequence_number;
            self.last_ts = header.timestamp;
        }
        self.last_at = Some(Instant::now());
    }
}

/// The outlets of a hearing, by (participant id, kind): shared by its sessions.
pub type Outlets = Arc<std::sync::Mutex<std::collections::HashMap<(String, MediaKind), Outlet>>>;

/// A track a participant publishes, ready to be added to subscribers.
#[derive(Clone)]
pub struct PublishedTrack {
    pub kind: MediaKind,
    pub track_id: String,
    /// The publisher's stream id (the participant id), so subscribers can map it.
    pub stream_id: String,
    pub(crate) local: Arc<TrackLocalStaticRTP>,
    forwarding: Arc<AtomicBool>,
    keyframe_tx: mpsc::Sender<()>,
    counters: Arc<TrackCounters>,
}

impl std::fmt::Debug for PublishedTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishedTrack")
            .field("kind", &self.kind)
            .field("track_id", &self.track_id)
            .finish()
    }
}

impl PublishedTrack {
    /// Forward this track to subscribers or not (court mute, not yet admitted).
    /// Recording is not affected.
    pub fn set_forwarding(&self, on: bool) {
        self.forwarding.store(on, Ordering::Relaxed);
    }

    pub fn is_forwarding(&self) -> bool {
        self.forwarding.load(Ordering::Relaxed)
    }

    /// Ask the publisher for a keyframe (rate-limited by the reader task).
    pub fn request_keyframe(&self) {
        if self.kind == MediaKind::Video {
            let _ = self.keyframe_tx.try_send(());
        }
    }

    pub fn packets_received(&self) -> u64 {
        self.counters.received.load(Ordering::Relaxed)
    }

    pub fn packets_forwarded(&self) -> u64 {
        self.counters.forwarded.load(Ordering::Relaxed)
    }
}

/// Starts forwarding a remote track under the server-chosen `stream_id` (the
/// publisher's participant id: the browser's own stream ids mean nothing to others);
/// returns the track to publish. The reader task
/// ends when the remote track ends (its peer connection closed).
pub(crate) fn publish(
    remote: Arc<TrackRemote>,
    stream_id: String,
    tag: u64,
    pc: Weak<RTCPeerConnection>,
    record: RecordSink,
    outlets: &Outlets,
    forwarding_initially: bool,
) -> Option<PublishedTrack> {
    let kind = MediaKind::from_codec_type(remote.kind())?;
    let codec = remote.codec().capability;
    let outlet = {
        let mut map = outlets.lock().ok()?;
        let key = (stream_id.clone(), kind);
        match map
            .get(&key)
            .filter(|o| o.mime_type.eq_ignore_ascii_case(&codec.mime_type))
        {
            Some(o) => o.clone(),
            None => {
                // First connection, or the codec changed: a new outlet (a new track at
                // the subscribers).
                let track_id = match map.get(&key) {
                    Some(_) => format!("{}-{}-{}", stream_id, kind.as_str(), tag),
                    None => format!("{}-{}", stream_id, kind.as_str()),
                };
                let o = Outlet {
                    local: Arc::new(TrackLocalStaticRTP::new(
                        codec.clone(),
                        track_id.clone(),
                        stream_id.clone(),
                    )),
                    mime_type: codec.mime_type.clone(),
                    track_id,
                    rewrite: Arc::default(),
                };
                map.insert(key, o.clone());
                o
            }
        }
    };
    let (keyframe_tx, keyframe_rx) = mpsc::channel(4);
    let track = PublishedTrack {
        kind,
        track_id: outlet.track_id.clone(),
        stream_id,
        local: outlet.local.clone(),
        forwarding: Arc::new(AtomicBool::new(forwarding_initially)),
        keyframe_tx,
        counters: Arc::default(),
    };
    let info = RecordInfo {
        kind,
        mime_type: Arc::from(codec.mime_type.as_str()),
        clock_rate: codec.clock_rate,
        channels: codec.channels,
    };
    tokio::spawn(read_loop(
        remote,
        outlet,
        tag,
        track.forwarding.clone(),
        track.counters.clone(),
        keyframe_rx,
        pc,
        record,
        info,
    ));
    // A new file and new subscribers both want a keyframe early.
    track.request_keyframe();
    Some(track)
}

struct RecordInfo {
    kind: MediaKind,
    mime_type: Arc<str>,
    clock_rate: u32,
    channels: u16,
}

const MIN_PLI_INTERVAL: Duration = Duration::from_millis(300);

#[allow(clippy::too_many_arguments)]
async fn read_loop(
    remote: Arc<TrackRemote>,
    outlet: Outlet,
    tag: u64,
    forwarding: Arc<AtomicBool>,
    counters: Arc<TrackCounters>,
    mut keyframe_rx: mpsc::Receiver<()>,
    pc: Weak<RTCPeerConnection>,
    record: RecordSink,
    info: RecordInfo,
) {
    let mut last_pli: Option<Instant> = None;
    loop {
        tokio::select! {
            read = remote.read_rtp() => {
                let Ok((pkt, _)) = read else { break };
                counters.received.fetch_add(1, Ordering::Relaxed);
                // Per packet: no allocation (the mime type is shared, the payload is a
                // reference-counted slice); `try_send` never blocks under the lock.
                if let Some(rec) = record.lock().ok().as_ref().and_then(|g| g.as_ref()) {
                    let r = RtpRecord {
                        kind: info.kind,
                        mime_type: info.mime_type.clone(),
                        clock_rate: info.clock_rate,
                        channels: info.channels,
                        seq: pkt.header.sequence_number,
                        timestamp: pkt.header.timestamp,
                        marker: pkt.header.marker,
                        ssrc: pkt.header.ssrc,
                        payload: pkt.payload.clone(),
                        arrival: SystemTime::now(),
                    };
                    // The recorder runs on its own thread; if it falls this far behind, the
                    // loss is reported by its sequence-number accounting.
                    // (std SyncSender::try_send never blocks.)
                    let _ = rec.try_send(RecordItem::Rtp(r));
                }
                if forwarding.load(Ordering::Relaxed) {
                    let mut pkt = pkt;
                    if let Ok(mut rw) = outlet.rewrite.lock() {
                        rw.apply(tag, info.clock_rate, &mut pkt.header);
                    }
                    if outlet.local.write_rtp(&pkt).await.is_ok() {
                        counters.forwarded.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Some(()) = keyframe_rx.recv() => {
                if last_pli.is_some_and(|t| t.elapsed() < MIN_PLI_INTERVAL) {
                    continue;
                }
                last_pli = Some(Instant::now());
                let Some(pc) = pc.upgrade() else { break };
                let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: remote.ssrc() };
                let _ = pc.write_rtcp(&[Box::new(pli)]).await;
            }
        }
    }
}
