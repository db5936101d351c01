//! The media both sides of the benchmark send: the VP8 and Opus fixtures loaded once,
//! then looped in real time (video 20 fps, audio 20 ms), either into a webrtc-rs track
//! (a publisher of the hearing) or as plain RTP over UDP to 127.0.0.1 (the ffmpeg
//! baseline). Counts every frame and RTP packet it sends. Sends only to loopback.

use anyhow::Context;
use bytes::Bytes;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use webrtc::media::Sample;
use webrtc::media::io::ivf_reader::IVFReader;
use webrtc::media::io::ogg_reader::OggReader;
use webrtc::rtp::codecs::opus::OpusPayloader;
use webrtc::rtp::codecs::vp8::Vp8Payloader;
use webrtc::rtp::packetizer::{Packetizer, new_packetizer};
use webrtc::rtp::sequence::new_random_sequencer;
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;
use webrtc::util::Marshal;

pub const VIDEO_TICK: Duration = Duration::from_millis(50);
pub const AUDIO_TICK: Duration = Duration::from_millis(20);

/// The fixtures in memory: VP8 frames and Opus packets (one per Ogg page).
pub struct Media {
    pub video: Vec<Bytes>,
    pub audio: Vec<Bytes>,
}

impl Media {
    pub fn load(dir: &std::path::Path) -> anyhow::Result<Media> {
        let f = std::fs::File::open(dir.join("video.ivf"))
            .context("fixtures-gen/video.ivf (run scripts/make-fixtures)")?;
        let (mut ivf, _) = IVFReader::new(std::io::BufReader::new(f))?;
        let mut video = Vec::new();
        while let Ok((frame, _)) = ivf.parse_next_frame() {
            video.push(frame.freeze());
        }
        let f = std::fs::File::open(dir.join("audio.ogg"))
            .context("fixtures-gen/audio.ogg (run scripts/make-fixtures)")?;
        let (mut ogg, _) = OggReader::new(std::io::BufReader::new(f), true)?;
        let mut audio = Vec::new();
        while let Ok((page, header)) = ogg.parse_next_page() {
            if header.granule_position != 0 {
                audio.push(page.freeze()); // granule 0: the OpusTags page
            }
        }
        anyhow::ensure!(!video.is_empty() && !audio.is_empty(), "empty fixtures");
        Ok(Media { video, audio })
    }
}

/// What one sender sent.
#[derive(Default, Debug)]
pub struct Sent {
    pub video_frames: AtomicU64,
    pub audio_frames: AtomicU64,
    pub video_packets: AtomicU64,
    pub audio_packets: AtomicU64,
    /// A keyframe request (PLI or FIR) arrived and the video feed has not answered it yet.
    pub keyframe_wanted: AtomicBool,
    /// Keyframes sent early to answer a request (as an encoder would).
    pub keyframes_on_request: AtomicU64,
}

impl Sent {
    pub fn get(&self) -> [u64; 4] {
        [
            self.video_frames.load(Ordering::Relaxed),
            self.audio_frames.load(Ordering::Relaxed),
            self.video_packets.load(Ordering::Relaxed),
            self.audio_packets.load(Ordering::Relaxed),
        ]
    }
}

/// Whether a VP8 frame is a keyframe (RFC 6386 9.1: bit 0 of the frame tag is 0).
pub fn vp8_is_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 0x01 == 0)
}

/// Feeds one webrtc-rs track with `frames` in real time until `run` goes false;
/// `video` picks the pace (20 fps or 20 ms) and the counter. Sends nothing before `go`
/// is set (the peer connection is up): webrtc-rs drops samples written before that
/// without an error, and they must not be counted as sent. Video answers a keyframe
/// request (`sent.keyframe_wanted`) as a browser's encoder does: the next frame sent is
/// a keyframe (the fixture's next one, skipping ahead).
pub async fn feed_track(
    track: Arc<TrackLocalStaticSample>,
    frames: Arc<Vec<Bytes>>,
    video: bool,
    (go, run): (Arc<AtomicBool>, Arc<AtomicBool>),
    sent: Arc<Sent>,
) {
    while !go.load(Ordering::Relaxed) {
        if !run.load(Ordering::Relaxed) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (tick, count) = if video {
        (VIDEO_TICK, &sent.video_frames)
    } else {
        (AUDIO_TICK, &sent.audio_frames)
    };
    let mut interval = tokio::time::interval(tick);
    let mut i = 0;
    while let Some(mut frame) = frames.get(i % frames.len().max(1)) {
        interval.tick().await;
        if !run.load(Ordering::Relaxed) {
            return;
        }
        if video && sent.keyframe_wanted.swap(false, Ordering::Relaxed) && !vp8_is_keyframe(frame) {
            if let Some(k) = (1..frames.len())
                .map(|d| (i + d) % frames.len())
                .find(|&k| vp8_is_keyframe(&frames[k]))
            {
                i = k;
                frame = &frames[k];
                sent.keyframes_on_request.fetch_add(1, Ordering::Relaxed);
            }
        }
        i = (i + 1) % frames.len();
        let sample = Sample {
            data: frame.clone(),
            duration: tick,
            ..Default::default()
        };
        if track.write_sample(&sample).await.is_err() {
            return;
        }
        count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sends `frames` as plain RTP (no SRTP) to 127.0.0.1:`port` in real time until `run`
/// goes false. `video` picks VP8 (payload type 96, 90 kHz) or Opus (111, 48 kHz).
pub async fn send_rtp(
    port: u16,
    video: bool,
    frames: Arc<Vec<Bytes>>,
    run: Arc<AtomicBool>,
    sent: Arc<Sent>,
) -> anyhow::Result<()> {
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    let to = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (tick, samples) = if video {
        (VIDEO_TICK, 90_000 / 20)
    } else {
        (AUDIO_TICK, 48_000 / 50)
    };
    let ssrc = rand::random::<u32>();
    let mut pk: Box<dyn Packetizer + Send + Sync> = if video {
        Box::new(new_packetizer(
            1200,
            96,
            ssrc,
            Box::new(Vp8Payloader::default()),
            Box::new(new_random_sequencer()),
            90_000,
        ))
    } else {
        Box::new(new_packetizer(
            1200,
            111,
            ssrc,
            Box::new(OpusPayloader),
            Box::new(new_random_sequencer()),
            48_000,
        ))
    };
    let (frames_n, packets_n) = if video {
        (&sent.video_frames, &sent.video_packets)
    } else {
        (&sent.audio_frames, &sent.audio_packets)
    };
    let mut interval = tokio::time::interval(tick);
    for frame in frames.iter().cycle() {
        interval.tick().await;
        if !run.load(Ordering::Relaxed) {
            return Ok(());
        }
        for p in pk.packetize(frame, samples)? {
            sock.send_to(&p.marshal()?, to)?;
            packets_n.fetch_add(1, Ordering::Relaxed);
        }
        frames_n.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}
