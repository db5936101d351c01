//! What the media loop hands out (published tracks, recorder items) and the per-hearing
//! forwarding state it keeps (outlets, sequence/timestamp rewriting per subscriber).
//!
//! An *outlet* is one participant's audio or video for the whole hearing: every
//! reconnection of that participant feeds the same outlet, so a subscriber keeps one
//! receiver (one m-line) per participant and kind, with no renegotiation on a rejoin.
//! Each subscriber's copy of an outlet has its own [`Rewrite`]: sequence numbers and
//! timestamps continue where the last connection stopped, and start small for a new
//! subscriber (a long-running publisher's extended sequence number would put a fresh
//! SRTP context at a rollover counter the receiver does not know).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

/// Audio or video.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    pub(crate) fn from_str0m(k: str0m::media::MediaKind) -> MediaKind {
        match k {
            str0m::media::MediaKind::Audio => MediaKind::Audio,
            str0m::media::MediaKind::Video => MediaKind::Video,
        }
    }
    pub(crate) fn to_str0m(self) -> str0m::media::MediaKind {
        match self {
            MediaKind::Audio => str0m::media::MediaKind::Audio,
            MediaKind::Video => str0m::media::MediaKind::Video,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
        }
    }
}

/// One received RTP packet, as handed to the recorder (no str0m types). The payload is
/// shared with every subscriber the packet is forwarded to (no copy).
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
    pub payload: Arc<[u8]>,
    pub arrival: SystemTime,
}

/// An RTCP sender report of a publisher: its wall clock (64-bit NTP) at an RTP
/// timestamp of one of its streams, as handed to the recorder (no str0m types).
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

/// Where a session's received packets go for recording (a bounded queue drained in
/// batches by the recorder thread; `try_send` never blocks the media loop).
pub type RecordSink = std::sync::mpsc::SyncSender<RecordItem>;

#[derive(Default, Debug)]
pub(crate) struct TrackCounters {
    pub received: AtomicU64,
    pub forwarded: AtomicU64,
}

/// The forwarding scope of one hearing: outlets are shared by its sessions only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Outlets(pub(crate) u64);

impl Outlets {
    /// A new scope (one per hearing task).
    pub fn new() -> Outlets {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Outlets(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl Default for Outlets {
    fn default() -> Self {
        Outlets::new()
    }
}

/// A track a participant publishes, as the hearing task sees it.
#[derive(Clone)]
pub struct PublishedTrack {
    pub kind: MediaKind,
    pub track_id: String,
    /// The publisher's stream id (the participant id), so subscribers can map it.
    pub stream_id: String,
    pub(crate) outlet: u64,
    pub(crate) forwarding: Arc<AtomicBool>,
    pub(crate) counters: Arc<TrackCounters>,
    pub(crate) engine: super::engine::EngineHandle,
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
    /// Recording is not affected. The media loop reads the flag per packet.
    pub fn set_forwarding(&self, on: bool) {
        self.forwarding.store(on, Ordering::Relaxed);
    }

    pub fn is_forwarding(&self) -> bool {
        self.forwarding.load(Ordering::Relaxed)
    }

    /// Ask the publisher for a keyframe (rate-limited by the media loop).
    pub fn request_keyframe(&self) {
        if self.kind == MediaKind::Video {
            self.engine.send(super::engine::Command::Keyframe {
                outlet: self.outlet,
            });
        }
    }

    pub fn packets_received(&self) -> u64 {
        self.counters.received.load(Ordering::Relaxed)
    }

    pub fn packets_forwarded(&self) -> u64 {
        self.counters.forwarded.load(Ordering::Relaxed)
    }
}

/// The codec an outlet carries (fixed by the first packet of its first source).
#[derive(Clone, Debug)]
pub(crate) struct Codec {
    pub params: str0m::format::PayloadParams,
    pub mime_type: Arc<str>,
    pub clock_rate: u32,
    pub channels: u16,
}

/// One participant's audio or video in one hearing (inside the media loop).
pub(crate) struct Outlet {
    pub hearing: Outlets,
    pub participant: Arc<str>,
    pub kind: MediaKind,
    pub track_id: String,
    pub codec: Codec,
    /// Connections subscribed (each has a `TxSub` naming this outlet).
    pub subscribers: Vec<u64>,
    /// The connection and media line now feeding it (keyframe requests go there).
    pub source: Option<(u64, str0m::media::Mid)>,
    /// The room its participant is in: 0 = the hearing; another number = a private
    /// consultation. Packets go only to subscribers in the same room.
    pub room: u32,
    /// Its layers being sent, worst first (SSRC, bits/s), as measured at the last
    /// layer tick: one for a plain video line, none for audio.
    pub layers: [(u32, u32); super::simulcast::MAX_LAYERS],
    pub n_layers: usize,
}

/// The outlets of every hearing of this media loop.
#[derive(Default)]
pub(crate) struct OutletTable {
    pub by_id: HashMap<u64, Outlet>,
    /// (hearing, participant, kind) -> current outlet.
    index: HashMap<(Outlets, Arc<str>, MediaKind), u64>,
    next: u64,
    /// (hearing, participant) -> room, for participants not in room 0.
    rooms: HashMap<(Outlets, Arc<str>), u32>,
}

impl OutletTable {
    /// The outlet for a publisher's track with this codec: the participant's existing
    /// one, or a new one (first connection, or the codec changed: a new track at the
    /// subscribers). Returns the outlet id.
    pub fn attach(
        &mut self,
        hearing: Outlets,
        participant: &Arc<str>,
        kind: MediaKind,
        codec: &Codec,
        tag: u64,
    ) -> u64 {
        let key = (hearing, participant.clone(), kind);
        let existing = self.index.get(&key).copied();
        let reuse = existing.filter(|id| {
            self.by_id
                .get(id)
                .is_some_and(|o| o.codec.mime_type.eq_ignore_ascii_case(&codec.mime_type))
        });
        match reuse {
            Some(id) => id,
            None => {
                self.next += 1;
                let id = self.next;
                let track_id = match existing {
                    Some(_) => format!("{participant}-{}-{tag}", kind.as_str()),
                    None => format!("{participant}-{}", kind.as_str()),
                };
                self.by_id.insert(
                    id,
                    Outlet {
                        hearing,
                        participant: participant.clone(),
                        kind,
                        track_id,
                        codec: codec.clone(),
                        subscribers: Vec::new(),
                        source: None,
                        room: self
                            .rooms
                            .get(&(hearing, participant.clone()))
                            .copied()
                            .unwrap_or(0),
                        layers: Default::default(),
                        n_layers: 0,
                    },
                );
                self.index.insert(key, id);
                id
            }
        }
    }

    /// Forgets every outlet of a hearing (its last connection closed).
    pub fn drop_hearing(&mut self, hearing: Outlets) {
        self.index.retain(|(h, _, _), _| *h != hearing);
        self.by_id.retain(|_, o| o.hearing != hearing);
        self.rooms.retain(|(h, _), _| *h != hearing);
    }

    /// The room of a participant (0 = the hearing).
    pub fn room_of(&self, hearing: Outlets, participant: &Arc<str>) -> u32 {
        self.rooms
            .get(&(hearing, participant.clone()))
            .copied()
            .unwrap_or(0)
    }

    /// Moves a participant's outlets (and later ones) to `room`.
    pub fn set_room(&mut self, hearing: Outlets, participant: &Arc<str>, room: u32) {
        if room == 0 {
            self.rooms.remove(&(hearing, participant.clone()));
        } else {
            self.rooms.insert((hearing, participant.clone()), room);
        }
        for o in self.by_id.values_mut() {
            if o.hearing == hearing && o.participant == *participant {
                o.room = room;
            }
        }
    }

    /// Removes a closed connection from every outlet.
    pub fn forget_conn(&mut self, tag: u64) {
        for o in self.by_id.values_mut() {
            o.subscribers.retain(|t| *t != tag);
            if o.source.is_some_and(|(t, _)| t == tag) {
                o.source = None;
            }
        }
    }
}

/// Sequence number and timestamp rewriting for one subscriber's copy of an outlet.
#[derive(Default, Debug)]
pub(crate) struct Rewrite {
    /// (connection tag, SSRC) of the source being forwarded.
    source: Option<(u64, u32)>,
    seq_offset: u64,
    ts_offset: u32,
    last_seq: u64,
    last_ts: u32,
    last_at: Option<Instant>,
}

/// Where a new subscriber's sequence numbers start: far enough above zero that packets
/// reordered before the first one still have a number (and the rollover counter stays 0).
const FIRST_SEQ: u64 = 1000;

impl Rewrite {
    /// The subscriber's (extended sequence number, timestamp) for a packet of `source`
    /// with extended sequence number `seq` and timestamp `ts`; None for a packet from
    /// before this subscriber's start (it cannot be numbered).
    pub fn apply(
        &mut self,
        source: (u64, u32),
        seq: u64,
        ts: u32,
        clock_rate: u32,
        now: Instant,
    ) -> Option<(u64, u32)> {
        if self.source != Some(source) {
            match self.last_at {
                Some(at) => {
                    // Continue one step after the last packet sent, and advance the
                    // clock by the time that passed: the receiver sees a gap, not a jump
                    // back.
                    let elapsed = now.saturating_duration_since(at).as_secs_f64();
                    let gap = (elapsed * f64::from(clock_rate)).max(1.0) as u32;
                    self.seq_offset = self.last_seq.wrapping_add(1).wrapping_sub(seq);
                    self.ts_offset = self.last_ts.wrapping_add(gap).wrapping_sub(ts);
                }
                None => {
                    self.seq_offset = FIRST_SEQ.wrapping_sub(seq);
                    self.ts_offset = 0;
                }
            }
            self.source = Some(source);
        }
        let out_seq = seq.wrapping_add(self.seq_offset);
        if out_seq >= 1 << 62 {
            return None; // older than this subscriber's first packet
        }
        let out_ts = ts.wrapping_add(self.ts_offset);
        // Keep the newest (reordered packets do not move the continuation point back).
        if self.last_at.is_none() || out_seq > self.last_seq {
            self.last_seq = out_seq;
            self.last_ts = out_ts;
        }
        self.last_at = Some(now);
        Some((out_seq, out_ts))
    }
}

/// 64-bit NTP time (seconds since 1900 in the high 32 bits) of a wall-clock instant.
pub(crate) fn ntp64(t: SystemTime) -> u64 {
    const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs().wrapping_add(NTP_UNIX_OFFSET);
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_new_subscriber_starts_small_and_follows_the_source() {
        let mut r = Rewrite::default();
        let t0 = Instant::now();
        let (s, ts) = r.apply((1, 7), 70_000, 5000, 90_000, t0).unwrap();
        assert_eq!((s, ts), (FIRST_SEQ, 5000));
        assert_eq!(
            r.apply((1, 7), 70_001, 8000, 90_000, t0).unwrap(),
            (FIRST_SEQ + 1, 8000)
        );
        // reordered, still numbered
        assert_eq!(
            r.apply((1, 7), 69_999, 2000, 90_000, t0).unwrap().0,
            FIRST_SEQ - 1
        );
        // far older than the start: dropped
        assert!(r.apply((1, 7), 60_000, 0, 90_000, t0).is_none());
    }

    #[test]
    fn a_new_source_continues_the_numbering_with_a_time_gap() {
        let mut r = Rewrite::default();
        let t0 = Instant::now();
        r.apply((1, 7), 10, 1000, 90_000, t0).unwrap();
        r.apply((1, 7), 11, 4000, 90_000, t0).unwrap();
        let later = t0 + Duration::from_secs(2);
        let (s, ts) = r.apply((2, 9), 50_000, 123, 90_000, later).unwrap();
        assert_eq!(s, FIRST_SEQ + 2);
        assert_eq!(ts, 4000 + 180_000);
    }

    #[test]
    fn ntp_of_the_unix_epoch() {
        assert_eq!(ntp64(SystemTime::UNIX_EPOCH), 2_208_988_800u64 << 32);
        let half = SystemTime::UNIX_EPOCH + Duration::from_millis(500);
        assert_eq!(ntp64(half) & 0xffff_ffff, 1 << 31);
    }
}
