//! RTCP sender reports reach the recorder: a publisher whose sender reports say its audio
//! was captured 300 ms after the video it sends at the same moment gets a file whose
//! audio starts 300 ms after its video (lip sync from the sender's clock), where arrival
//! timing alone would start both together.
//!
//! The publisher is a webrtc-rs peer with no interceptors (so it sends only the sender
//! reports the test writes), sending VP8 + Opus from the fixtures as raw RTP with known
//! timestamps. Run inside a loopback-only network namespace (scripts/test does).
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::media::stream_starts;
use common::peer::{Peer, fixtures};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use sworn::domain::StaffRole;
use webrtc::api::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{API, APIBuilder};
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::media::io::ivf_reader::IVFReader;
use webrtc::media::io::ogg_reader::OggReader;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::rtcp::sender_report::SenderReport;
use webrtc::rtp::codecs::vp8::Vp8Payloader;
use webrtc::rtp::header::Header;
use webrtc::rtp::packet::Packet;
use webrtc::rtp::packetizer::Payloader;
use webrtc::rtp_transceiver::rtp_codec::RTCRtpCodecCapability;
use webrtc::track::track_local::track_local_static_rtp::TrackLocalStaticRTP;
use webrtc::track::track_local::{TrackLocal, TrackLocalWriter};

/// How much later than the video the sender says its audio was captured.
const AUDIO_LAG: Duration = Duration::from_millis(300);
const VIDEO_TS0: u32 = 4_000_000_000; // wraps during the test
const AUDIO_TS0: u32 = 1_000;

/// A client API without interceptors: no automatic sender reports.
fn bare_api() -> API {
    // rustls holds two crypto providers (ring; aws-lc-rs through object_store): webrtc-rs's
    // DTLS asks for the process default, so one is chosen here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut se = SettingEngine::default();
    se.set_include_loopback_candidate(true);
    se.set_ip_filter(Box::new(|ip| ip.is_loopback()));
    se.set_network_types(vec![NetworkType::Udp4]);
    se.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    let mut m = MediaEngine::default();
    m.register_default_codecs().unwrap();
    APIBuilder::new()
        .with_media_engine(m)
        .with_setting_engine(se)
        .build()
}

fn ntp(t: SystemTime) -> u64 {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    ((d.as_secs() + 2_208_988_800) << 32) | ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
}

fn track(mime: &str, clock_rate: u32, channels: u16, id: &str) -> Arc<TrackLocalStaticRTP> {
    Arc::new(TrackLocalStaticRTP::new(
        RTCRtpCodecCapability {
            mime_type: mime.to_owned(),
            clock_rate,
            channels,
            ..Default::default()
        },
        id.to_owned(),
        "local-stream".to_owned(),
    ))
}

fn packet(seq: u16, ts: u32, marker: bool, payload: bytes::Bytes) -> Packet {
    Packet {
        header: Header {
            version: 2,
            sequence_number: seq,
            timestamp: ts,
            marker,
            ..Default::default()
        },
        payload,
    }
}

/// Sends `seconds` of VP8 (20 fps) and Opus (20 ms) with timestamps counted from
/// `VIDEO_TS0` / `AUDIO_TS0` at `t0`, and sender reports every 100 ms mapping video
/// timestamps to `t0 + media time` and audio ones to `t0 + media time + AUDIO_LAG`.
async fn send_media(
    pc: Arc<RTCPeerConnection>,
    video: Arc<TrackLocalStaticRTP>,
    audio: Arc<TrackLocalStaticRTP>,
    ssrcs: (u32, u32),
    seconds: u64,
) {
    let frames: Vec<bytes::Bytes> = {
        let f = std::fs::File::open(fixtures().join("video.ivf")).unwrap();
        let (mut ivf, _) = IVFReader::new(std::io::BufReader::new(f)).unwrap();
        std::iter::from_fn(|| ivf.parse_next_frame().ok().map(|(fr, _)| fr.freeze())).collect()
    };
    let opus: Vec<bytes::Bytes> = {
        let f = std::fs::File::open(fixtures().join("audio.ogg")).unwrap();
        let (mut ogg, _) = OggReader::new(std::io::BufReader::new(f), true).unwrap();
        std::iter::from_fn(|| ogg.parse_next_page().ok())
            .filter(|(_, h)| h.granule_position != 0)
            .map(|(p, _)| p.freeze())
            .collect()
    };
    let mut vp8 = Vp8Payloader::default();
    let t0 = SystemTime::now();
    let start = Instant::now();
    let (mut vseq, mut aseq) = (0u16, 0u16);
    let mut next_sr = Duration::ZERO;
    let (mut v, mut a) = (0u64, 0u64);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    while start.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        let now = start.elapsed();
        if now >= next_sr {
            next_sr += Duration::from_millis(100);
            let media = now.as_secs_f64();
            let srs = [
                SenderReport {
                    ssrc: ssrcs.0,
                    ntp_time: ntp(t0 + now),
                    rtp_time: VIDEO_TS0.wrapping_add((media * 90_000.0) as u32),
                    ..Default::default()
                },
                SenderReport {
                    ssrc: ssrcs.1,
                    ntp_time: ntp(t0 + now + AUDIO_LAG),
                    rtp_time: AUDIO_TS0.wrapping_add((media * 48_000.0) as u32),
                    ..Default::default()
                },
            ];
            for sr in srs {
                let _ = pc.write_rtcp(&[Box::new(sr)]).await;
            }
        }
        while Duration::from_millis(50 * v) <= now {
            let frame = &frames[(v as usize) % frames.len()];
            let ts = VIDEO_TS0.wrapping_add((v * 4_500) as u32);
            let parts = vp8.payload(1_200, frame).unwrap();
            let n = parts.len();
            for (i, p) in parts.into_iter().enumerate() {
                let _ = video.write_rtp(&packet(vseq, ts, i + 1 == n, p)).await;
                vseq = vseq.wrapping_add(1);
            }
            v += 1;
        }
        while Duration::from_millis(20 * a) <= now {
            let ts = AUDIO_TS0.wrapping_add((a * 960) as u32);
            let p = opus[(a as usize) % opus.len()].clone();
            let _ = audio.write_rtp(&packet(aseq, ts, false, p)).await;
            aseq = aseq.wrapping_add(1);
            a += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_reports_set_the_lip_sync_of_the_recording() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    judge
        .post(&format!("/api/hearings/{h}/open"), json!({}))
        .await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let api = bare_api();
    let w = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    w.wait_type("lobby").await;
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{wid}/admit"),
            json!({}),
        )
        .await;
    w.wait_type("admitted").await;

    let video = track(MIME_TYPE_VP8, 90_000, 0, "video");
    let audio = track(MIME_TYPE_OPUS, 48_000, 2, "audio");
    let mut ssrcs = Vec::new();
    for t in [video.clone(), audio.clone()] {
        let t: Arc<dyn TrackLocal + Send + Sync> = t;
        let sender = w.pc.add_track(t).await.unwrap();
        ssrcs.push(sender.get_parameters().await.encodings[0].ssrc);
        tokio::spawn(async move { while sender.read_rtcp().await.is_ok() {} });
    }
    let offer = w.pc.create_offer(None).await.unwrap();
    w.pc.set_local_description(offer.clone()).await.unwrap();
    w.send(json!({"type": "offer", "sdp": offer.sdp}));
    let until = Instant::now() + Duration::from_secs(20);
    while w.pc.connection_state() != RTCPeerConnectionState::Connected {
        assert!(Instant::now() < until, "not connected");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    send_media(w.pc.clone(), video, audio, (ssrcs[0], ssrcs[1]), 5).await;

    let bundle = server.close_and_seal(&judge, &h).await;
    w.close().await;
    let files: Vec<_> = std::fs::read_dir(bundle.join("media"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let (a, v) = stream_starts(&files[0]);
    println!("audio starts {a:.3} s, video {v:.3} s (sender says audio +{AUDIO_LAG:?})");
    let lag = a - v;
    assert!(
        (lag - AUDIO_LAG.as_secs_f64()).abs() <= 0.1,
        "audio starts {lag:.3} s after video; the sender reports say {AUDIO_LAG:?}"
    );
    server.stop().await;
}
