//! One recorder thread per participant connection while the hearing is open: receives
//! RTP from the SFU through a bounded std channel (the media path never blocks on it),
//! drives `recorder::ParticipantRecorder`, fsyncs each file before reporting its new byte
//! range, and reports every recorder event to the hearing task.

use crate::domain::ParticipantId;
use crate::recorder::{
    Codec, MediaKind as RecKind, ParticipantRecorder, RecorderConfig, RecorderEvent, RtpIn,
    TrackSpec,
};
use crate::rtc::{MediaKind, RecordItem, RtpRecord, SenderReportRecord};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc::UnboundedSender;

/// What a recorder thread tells the hearing task.
#[derive(Debug)]
pub(crate) enum RecorderReport {
    Event {
        participant: ParticipantId,
        event: RecorderEvent,
    },
    /// Video track index to ask the publisher for a keyframe.
    Failed {
        participant: ParticipantId,
        reason: String,
    },
    Done {
        participant: ParticipantId,
    },
}

/// Packets buffered between the SFU and a recorder thread (~10 s of a 1.5 Mbit/s call).
const QUEUE: usize = 4096;
/// How long to wait for a participant's second track before starting the file.
const TRACK_WAIT: Duration = Duration::from_millis(1500);
/// Once every track is known, how much longer to wait for each one's first RTCP sender
/// report, so the first file already lines audio and video up by the sender's clock
/// (bounded: the packets wait in memory, not on disk, and a crash would lose them).
const SR_WAIT: Duration = Duration::from_millis(800);
const TICK: Duration = Duration::from_millis(100);
/// How long packets wait in the queue before the recorder thread takes them in a batch
/// (at 1.5 Mbit/s about twenty packets; the queue holds 4096). Part of what a crash can
/// lose, with the reorder window and the open cluster: well inside the 1 s budget.
const BATCH: Duration = Duration::from_millis(100);

pub(crate) struct RecorderSettings {
    pub dir: PathBuf,
    pub base_name: String,
    pub rotate_after: Duration,
}

/// Starts a recorder thread; returns the sender to hand to the SFU. The thread ends
/// (sealing its file) when every sender is dropped.
pub(crate) fn start(
    participant: ParticipantId,
    settings: RecorderSettings,
    reports: UnboundedSender<RecorderReport>,
) -> std::io::Result<SyncSender<RecordItem>> {
    let (tx, rx) = sync_channel(QUEUE);
    std::thread::Builder::new()
        .name("sworn-recorder".into())
        .spawn(move || run(participant, settings, rx, reports))?;
    Ok(tx)
}

/// The recorder track a publisher's packets describe (None: a codec not recorded).
fn spec_of(r: &RtpRecord) -> Option<TrackSpec> {
    let mime = r.mime_type.to_ascii_lowercase();
    let (kind, codec) = match (r.kind, mime.as_str()) {
        (MediaKind::Audio, "audio/opus") => (RecKind::Audio, Codec::Opus),
        (MediaKind::Video, "video/vp8") => (RecKind::Video, Codec::Vp8),
        (MediaKind::Video, "video/h264") => (RecKind::Video, Codec::H264),
        _ => return None,
    };
    Some(TrackSpec {
        kind,
        codec,
        clock_rate: r.clock_rate,
        channels: r.channels.max(1),
    })
}

fn to_rtp(r: RtpRecord) -> RtpIn {
    RtpIn {
        seq: r.seq,
        timestamp: r.timestamp,
        marker: r.marker,
        ssrc: r.ssrc,
        payload: r.payload.to_vec(),
        arrival: r.arrival,
    }
}

/// The SSRC each kind's packets currently come from, so only sender reports of the
/// current stream reach the recorder (`recorder::timing` requires it).
#[derive(Default)]
struct Streams {
    audio: Option<u32>,
    video: Option<u32>,
}

impl Streams {
    fn slot(&mut self, kind: MediaKind) -> &mut Option<u32> {
        match kind {
            MediaKind::Audio => &mut self.audio,
            MediaKind::Video => &mut self.video,
        }
    }
}

fn run(
    participant: ParticipantId,
    settings: RecorderSettings,
    rx: Receiver<RecordItem>,
    reports: UnboundedSender<RecorderReport>,
) {
    let send = |event: RecorderEvent| {
        let _ = reports.send(RecorderReport::Event {
            participant: participant.clone(),
            event,
        });
    };
    // 1. Learn the tracks (audio and/or video) from the first packets, and wait briefly
    //    for their first sender reports.
    let mut pending: Vec<RecordItem> = Vec::new();
    let mut specs: Vec<(MediaKind, TrackSpec)> = Vec::new();
    let mut reported: Vec<MediaKind> = Vec::new();
    let mut first: Option<Instant> = None;
    let mut all_known: Option<Instant> = None;
    let mut disconnected = false;
    loop {
        let waited = first.map(|t| t.elapsed()).unwrap_or_default();
        let tracks_done = specs.len() >= 2 || (first.is_some() && waited >= TRACK_WAIT);
        if tracks_done {
            let since = *all_known.get_or_insert_with(Instant::now);
            let reports_done = specs.iter().all(|(k, _)| reported.contains(k));
            if reports_done || since.elapsed() >= SR_WAIT {
                break;
            }
        }
        match rx.recv_timeout(TICK) {
            Ok(item) => {
                if let RecordItem::Rtp(r) = &item {
                    first.get_or_insert_with(Instant::now);
                    if !specs.iter().any(|(k, _)| *k == r.kind) {
                        if let Some(spec) = spec_of(r) {
                            specs.push((r.kind, spec));
                        }
                    }
                }
                if let RecordItem::SenderReport(sr) = &item {
                    if !reported.contains(&sr.kind) {
                        reported.push(sr.kind);
                    }
                }
                if pending.len() < QUEUE {
                    pending.push(item);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                disconnected = true;
                break;
            }
        }
    }
    if specs.is_empty() {
        let _ = reports.send(RecorderReport::Done { participant });
        return;
    }
    let cfg = RecorderConfig {
        dir: settings.dir,
        base_name: settings.base_name,
        rotate_after: settings.rotate_after,
        chunk_interval: Duration::from_secs(1),
        // A hole waits this long for the server's NACK to be repaired: a retransmission
        // comes one round trip later, and a weak link abroad has 200-600 ms. Packets
        // wait only while a hole is open.
        reorder_window: Duration::from_millis(1000),
    };
    let tracks: Vec<TrackSpec> = specs.iter().map(|(_, s)| s.clone()).collect();
    let mut kinds: Vec<MediaKind> = specs.iter().map(|(k, _)| *k).collect();
    let mut rec = match ParticipantRecorder::new(cfg, tracks, SystemTime::now()) {
        Ok(r) => r,
        Err(e) => {
            let _ = reports.send(RecorderReport::Failed {
                participant: participant.clone(),
                reason: e.to_string(),
            });
            let _ = reports.send(RecorderReport::Done { participant });
            return;
        }
    };
    let emit = |events: Vec<RecorderEvent>, rec: &mut ParticipantRecorder| {
        // Bytes are durable before the hearing log commits to them.
        if events
            .iter()
            .any(|e| matches!(e, RecorderEvent::Chunk { .. }))
            && rec.fsync().is_err()
        {
            send(RecorderEvent::Degraded {
                reason: "fsync failed".into(),
            });
        }
        for e in events {
            send(e);
        }
    };
    let mut streams = Streams::default();
    for item in &pending {
        if let RecordItem::Rtp(r) = item {
            streams.slot(r.kind).get_or_insert(r.ssrc);
        }
    }
    // Sender reports first, so the first frames are placed with them.
    pending.sort_by_key(|item| !matches!(item, RecordItem::SenderReport(_)));
    let feed = |item: RecordItem,
                rec: &mut ParticipantRecorder,
                streams: &mut Streams,
                kinds: &mut Vec<MediaKind>| match item {
        RecordItem::Rtp(r) => {
            if let Some(i) = track_of(rec, kinds, &r) {
                *streams.slot(r.kind) = Some(r.ssrc);
                let ev = rec.push(i, to_rtp(r));
                emit(ev, rec);
            }
        }
        RecordItem::SenderReport(sr) => {
            let i = kinds.iter().position(|k| *k == sr.kind);
            sender_report(rec, streams, i, sr)
        }
    };
    for item in pending {
        feed(item, &mut rec, &mut streams, &mut kinds);
    }
    // 2. Record until the connection ends, in batches: the thread sleeps BATCH, then
    //    drains what arrived. Nobody waits on the channel, so the media path never pays
    //    for waking this thread (a futex wake and two context switches per packet cost
    //    more than recording the packet); timing comes from the arrival stamps.
    let mut last_tick = Instant::now();
    while !disconnected {
        std::thread::sleep(BATCH);
        loop {
            match rx.try_recv() {
                Ok(item) => feed(item, &mut rec, &mut streams, &mut kinds),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    disconnected = true;
                    break;
                }
            }
        }
        if last_tick.elapsed() >= TICK {
            last_tick = Instant::now();
            let ev = rec.tick(SystemTime::now());
            emit(ev, &mut rec);
        }
    }
    match rec.finish(SystemTime::now()) {
        Ok(events) => {
            for e in events {
                send(e);
            }
        }
        Err(e) => {
            let _ = reports.send(RecorderReport::Failed {
                participant: participant.clone(),
                reason: e.to_string(),
            });
        }
    }
    let _ = reports.send(RecorderReport::Done { participant });
}

/// The recorder track of a packet's kind; a kind first seen after the recorder started
/// (the camera came after the microphone) is added to it, and goes into the next file.
fn track_of(
    rec: &mut ParticipantRecorder,
    kinds: &mut Vec<MediaKind>,
    r: &RtpRecord,
) -> Option<usize> {
    if let Some(i) = kinds.iter().position(|k| *k == r.kind) {
        return Some(i);
    }
    match rec.add_track(spec_of(r)?) {
        Ok(i) => {
            kinds.push(r.kind);
            Some(i)
        }
        Err(_) => None,
    }
}

/// Passes a sender report on only when it is about the stream the track is recording
/// (not, say, a retransmission stream's).
fn sender_report(
    rec: &mut ParticipantRecorder,
    streams: &mut Streams,
    track: Option<usize>,
    sr: SenderReportRecord,
) {
    let Some(track) = track else { return };
    if *streams.slot(sr.kind) != Some(sr.ssrc) {
        return;
    }
    rec.sender_report(track, sr.ntp, sr.rtp_ts, sr.arrival);
}

#[cfg(test)]
#[path = "recording_tests.rs"]
mod tests;
