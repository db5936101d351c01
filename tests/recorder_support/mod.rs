//! Test support for the recorder tests: fixture readers (IVF, Ogg/Opus, H.264 Annex B),
//! a small RTP packetizer, a scheduler that interleaves audio and video in time, and
//! independent checkers (ffprobe, ffmpeg, ffmpeg-next demuxing, sha256 of file ranges).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use sworn::recorder::{Codec, MediaKind, RecorderConfig, RecorderEvent, RtpIn, TrackSpec};

pub const T0_SECS: u64 = 1_800_000_000;

pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(T0_SECS)
}

pub fn at_ms(ms: u64) -> SystemTime {
    t0() + Duration::from_millis(ms)
}

/// Runs scripts/make-fixtures (idempotent) and returns the fixtures directory.
pub fn fixtures() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("fixtures-gen");
    let ok = Command::new(root.join("scripts/make-fixtures"))
        .arg(&dir)
        .output()
        .expect("run make-fixtures")
        .status
        .success();
    assert!(ok, "make-fixtures failed");
    dir
}

/// VP8 frames of an IVF file.
pub fn read_ivf(path: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[0..4], b"DKIF");
    let hdr = u16::from_le_bytes([b[6], b[7]]) as usize;
    let mut at = hdr;
    let mut out = Vec::new();
    while at + 12 <= b.len() {
        let size = u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        at += 12;
        out.push(b[at..at + size].to_vec());
        at += size;
    }
    out
}

/// Opus packets of an Ogg file (OpusHead and OpusTags skipped).
pub fn read_ogg_opus(path: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).unwrap();
    let mut at = 0;
    let mut packets = Vec::new();
    let mut cur = Vec::new();
    while at + 27 <= b.len() {
        assert_eq!(&b[at..at + 4], b"OggS");
        let nseg = b[at + 26] as usize;
        let lacing = &b[at + 27..at + 27 + nseg];
        let mut data = at + 27 + nseg;
        for &l in lacing {
            cur.extend_from_slice(&b[data..data + l as usize]);
            data += l as usize;
            if l < 255 {
                packets.push(std::mem::take(&mut cur));
            }
        }
        at = data;
    }
    assert!(packets[0].starts_with(b"OpusHead"));
    assert!(packets[1].starts_with(b"OpusTags"));
    packets.drain(0..2);
    packets
}

/// Access units of an Annex B H.264 stream (split at AUD NALs, AUDs removed).
pub fn read_h264(path: &Path) -> Vec<Vec<Vec<u8>>> {
    let b = std::fs::read(path).unwrap();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= b.len() {
        if b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut e = starts.get(k + 1).map(|n| n - 3).unwrap_or(b.len());
        while e > s && b[e - 1] == 0 {
            e -= 1; // zero_byte of a 4-byte start code / trailing zeros
        }
        nals.push(b[s..e].to_vec());
    }
    let mut aus: Vec<Vec<Vec<u8>>> = Vec::new();
    for n in nals {
        if n[0] & 0x1f == 9 {
            aus.push(Vec::new());
        } else if let Some(au) = aus.last_mut() {
            au.push(n);
        }
    }
    aus.retain(|a| !a.is_empty());
    aus
}

/// AVCC form of an access unit (what the recorder stores for H.264).
pub fn avcc(au: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in au {
        out.extend_from_slice(&(n.len() as u32).to_be_bytes());
        out.extend_from_slice(n);
    }
    out
}

/// RFC 7741 payloads for one VP8 frame (15-bit picture id in the descriptor).
pub fn packetize_vp8(frame: &[u8], picture_id: u16, mtu: usize) -> Vec<Vec<u8>> {
    frame
        .chunks(mtu)
        .enumerate()
        .map(|(i, part)| {
            let s = if i == 0 { 0x10 } else { 0x00 };
            let mut p = vec![
                0x80 | s,
                0x80,
                0x80 | (picture_id >> 8) as u8 & 0x7f,
                picture_id as u8,
            ];
            p.extend_from_slice(part);
            p
        })
        .collect()
}

/// RTP payloads of VP8 frames, one list per frame (picture ids 0, 1, ...; 1000-byte MTU).
pub fn vp8_payloads(frames: &[Vec<u8>]) -> Vec<Vec<Vec<u8>>> {
    frames
        .iter()
        .enumerate()
        .map(|(i, f)| packetize_vp8(f, i as u16, 1000))
        .collect()
}

/// RTP payloads of Opus frames: one packet each.
pub fn opus_payloads(frames: &[Vec<u8>]) -> Vec<Vec<Vec<u8>>> {
    frames.iter().map(|f| vec![f.clone()]).collect()
}

/// VP8 video (track 0, 20 fps) and Opus audio (track 1, 50 fps) from 0 s, merged.
pub fn vp8_av(video: &[Vec<u8>], audio: &[Vec<u8>]) -> Vec<Sent> {
    merge(vec![
        rtp_track(0, &vp8_payloads(video), 50, 4500, 1, 0, 1, 0),
        rtp_track(1, &opus_payloads(audio), 20, 960, 1, 0, 2, 0),
    ])
}

/// RFC 6184 payloads for one access unit: SPS+PPS as STAP-A, big NALs as FU-A.
pub fn packetize_h264(au: &[Vec<u8>], mtu: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let (params, rest): (Vec<_>, Vec<_>) = au.iter().partition(|n| matches!(n[0] & 0x1f, 7 | 8));
    if !params.is_empty() {
        let mut stap = vec![0x78];
        for n in &params {
            stap.extend_from_slice(&(n.len() as u16).to_be_bytes());
            stap.extend_from_slice(n);
        }
        out.push(stap);
    }
    for n in rest {
        if n.len() <= mtu {
            out.push(n.clone());
            continue;
        }
        let hdr = n[0];
        let body = &n[1..];
        let parts: Vec<_> = body.chunks(mtu).collect();
        for (i, part) in parts.iter().enumerate() {
            let mut fu = vec![(hdr & 0xe0) | 28, hdr & 0x1f];
            if i == 0 {
                fu[1] |= 0x80;
            }
            if i == parts.len() - 1 {
                fu[1] |= 0x40;
            }
            fu.extend_from_slice(part);
            out.push(fu);
        }
    }
    out
}

/// One RTP packet to feed, with its track.
#[derive(Clone, Debug)]
pub struct Sent {
    pub track: usize,
    pub pkt: RtpIn,
    /// Index of the frame the packet belongs to.
    pub frame: usize,
}

/// Packetizes a list of frame payload lists into RTP with seq/ts starting points.
#[allow(clippy::too_many_arguments)] // one argument per RTP stream property
pub fn rtp_track(
    track: usize,
    frames: &[Vec<Vec<u8>>],
    frame_ms: u64,
    ts_step: u32,
    seq0: u16,
    ts0: u32,
    ssrc: u32,
    start_ms: u64,
) -> Vec<Sent> {
    let mut out = Vec::new();
    let mut seq = seq0;
    for (i, payloads) in frames.iter().enumerate() {
        let ts = ts0.wrapping_add(ts_step.wrapping_mul(i as u32));
        let arrival = at_ms(start_ms + frame_ms * i as u64);
        for (k, p) in payloads.iter().enumerate() {
            out.push(Sent {
                track,
                frame: i,
                pkt: RtpIn {
                    seq,
                    timestamp: ts,
                    marker: k + 1 == payloads.len(),
                    ssrc,
                    payload: p.clone(),
                    arrival,
                },
            });
            seq = seq.wrapping_add(1);
        }
    }
    out
}

/// Merges tracks by arrival (stable).
pub fn merge(mut parts: Vec<Vec<Sent>>) -> Vec<Sent> {
    let mut all: Vec<Sent> = parts.drain(..).flatten().collect();
    all.sort_by_key(|s| s.pkt.arrival);
    all
}

pub fn vp8_spec() -> TrackSpec {
    TrackSpec {
        kind: MediaKind::Video,
        codec: Codec::Vp8,
        clock_rate: 90_000,
        channels: 0,
    }
}

pub fn h264_spec() -> TrackSpec {
    TrackSpec {
        kind: MediaKind::Video,
        codec: Codec::H264,
        clock_rate: 90_000,
        channels: 0,
    }
}

pub fn opus_spec() -> TrackSpec {
    TrackSpec {
        kind: MediaKind::Audio,
        codec: Codec::Opus,
        clock_rate: 48_000,
        channels: 2,
    }
}

pub fn config(dir: &Path, rotate_after: Duration) -> RecorderConfig {
    RecorderConfig {
        dir: dir.to_path_buf(),
        base_name: "p".into(),
        rotate_after,
        chunk_interval: Duration::from_secs(1),
        reorder_window: Duration::from_millis(200),
    }
}

/// Packets of one stream in a demuxed file: (stream index, codec name, pts, key, data).
pub struct Demuxed {
    pub codec: String,
    pub packets: Vec<(i64, bool, Vec<u8>)>,
}

/// All packets per stream, read with ffmpeg-next (libavformat demuxer).
pub fn demux(path: &Path) -> Vec<Demuxed> {
    ffmpeg_next::init().unwrap();
    let mut ictx = ffmpeg_next::format::input(path).unwrap();
    let mut out: Vec<Demuxed> = ictx
        .streams()
        .map(|s| Demuxed {
            codec: format!("{:?}", s.parameters().id()),
            packets: Vec::new(),
        })
        .collect();
    for (s, p) in ictx.packets() {
        out[s.index()].packets.push((
            p.pts().unwrap_or(-1),
            p.is_key(),
            p.data().unwrap_or_default().to_vec(),
        ));
    }
    out
}

/// `ffprobe -count_packets` per stream: (codec_name, nb_read_packets).
pub fn ffprobe_counts(path: &Path) -> Vec<(String, u64)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_packets", "-show_entries"])
        .arg("stream=codec_name,nb_read_packets")
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split(',');
            (
                it.next().unwrap().to_string(),
                it.next().unwrap().trim().parse().unwrap(),
            )
        })
        .collect()
}

/// `ffmpeg -v error -i f -f null -`: returns stderr (empty when the decode is clean).
pub fn decode_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let mut s = String::from_utf8_lossy(&out.stderr).to_string();
    if !out.status.success() {
        s.push_str(&format!("exit {:?}", out.status.code()));
    }
    s
}

/// Last packet pts (ms) per stream via ffprobe.
pub fn last_pts_ms(path: &Path) -> Vec<f64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=stream_index,pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    let mut last: Vec<f64> = Vec::new();
    for l in String::from_utf8(out.stdout).unwrap().lines() {
        let mut it = l.split(',');
        let idx: usize = it.next().unwrap().parse().unwrap();
        let t: f64 = it.next().unwrap().parse().unwrap_or(0.0);
        if last.len() <= idx {
            last.resize(idx + 1, 0.0);
        }
        last[idx] = last[idx].max(t * 1000.0);
    }
    last
}

pub fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// Checks that the Chunk events of `file` tile it exactly and hash its bytes, and
/// that the FileSealed event (if any) matches the whole file.
pub fn check_chunks(dir: &Path, events: &[RecorderEvent], file: &Path) {
    let bytes = std::fs::read(dir.join(file)).unwrap();
    let mut next = 0u64;
    for e in events {
        match e {
            RecorderEvent::Chunk {
                file: f,
                offset,
                length,
                sha256: h,
                ..
            } if f == file => {
                assert_eq!(*offset, next, "chunks must tile {file:?}");
                assert!(*length > 0);
                let end = (offset + length) as usize;
                assert!(end <= bytes.len());
                assert_eq!(*h, sha256(&bytes[*offset as usize..end]), "chunk hash");
                next = offset + length;
            }
            RecorderEvent::FileSealed {
                file: f,
                length,
                sha256: h,
            } if f == file => {
                assert_eq!(*length, bytes.len() as u64);
                assert_eq!(*h, sha256(&bytes));
            }
            _ => {}
        }
    }
    assert_eq!(next, bytes.len() as u64, "chunks cover the whole file");
}

pub fn files_started(events: &[RecorderEvent]) -> Vec<PathBuf> {
    events
        .iter()
        .filter_map(|e| match e {
            RecorderEvent::FileStarted { file, .. } => Some(file.clone()),
            _ => None,
        })
        .collect()
}
