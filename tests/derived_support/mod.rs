//! Support for the derived-copy tests: real recorder output made from the fixtures
//! (through `ParticipantRecorder`, as in the recorder tests), and independent checks
//! with ffprobe / ffmpeg.
#![allow(dead_code)]

#[path = "../recorder_support/mod.rs"]
pub mod recorder_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use recorder_support::*;
use sworn::recorder::{ParticipantRecorder, RecorderEvent, TrackSpec};

/// Which codecs a recorded participant publishes.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Vp8Opus,
    H264Opus,
    Vp8Only,
}

/// A participant recording: its files (absolute, in order) and the wall clock of media
/// time 0 of the first file (from the first chunk, as the integrator would take it).
pub struct Recording {
    pub files: Vec<PathBuf>,
    pub start: SystemTime,
    pub events: Vec<RecorderEvent>,
}

/// Records the 6 s fixtures through a real `ParticipantRecorder` into `dir`.
pub fn record(dir: &Path, kind: Kind, rotate: Duration) -> Recording {
    let fx = fixtures();
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    let ap: Vec<_> = audio.iter().map(|f| vec![f.clone()]).collect();
    let (specs, sent): (Vec<TrackSpec>, Vec<Sent>) = match kind {
        Kind::Vp8Opus | Kind::Vp8Only => {
            let video = read_ivf(&fx.join("video.ivf"));
            let vp: Vec<_> = video
                .iter()
                .enumerate()
                .map(|(i, f)| packetize_vp8(f, i as u16, 1000))
                .collect();
            let v = rtp_track(0, &vp, 50, 4500, 1, 0, 1, 0);
            if matches!(kind, Kind::Vp8Only) {
                (vec![vp8_spec()], v)
            } else {
                (
                    vec![vp8_spec(), opus_spec()],
                    merge(vec![v, rtp_track(1, &ap, 20, 960, 1, 0, 2, 0)]),
                )
            }
        }
        Kind::H264Opus => {
            let aus = read_h264(&fx.join("video.h264"));
            let hp: Vec<_> = aus.iter().map(|au| packetize_h264(au, 1100)).collect();
            (
                vec![h264_spec(), opus_spec()],
                merge(vec![
                    rtp_track(0, &hp, 50, 4500, 100, 1, 5, 0),
                    rtp_track(1, &ap, 20, 960, 1, 0, 6, 0),
                ]),
            )
        }
    };
    let mut rec = ParticipantRecorder::new(config(dir, rotate), specs, t0()).unwrap();
    let mut events = Vec::new();
    let mut next_tick = 100;
    for s in &sent {
        let ms = s.pkt.arrival.duration_since(t0()).unwrap().as_millis() as u64;
        while next_tick <= ms {
            events.extend(rec.tick(at_ms(next_tick)));
            next_tick += 100;
        }
        events.extend(rec.push(s.track, s.pkt.clone()));
    }
    events.extend(rec.finish(at_ms(6100)).unwrap());
    let files: Vec<PathBuf> = files_started(&events)
        .into_iter()
        .map(|f| dir.join(f))
        .collect();
    let start = events
        .iter()
        .find_map(|e| match e {
            RecorderEvent::Chunk {
                media_start_ms,
                wall_start,
                ..
            } => Some(*wall_start - Duration::from_millis(*media_start_ms as u64)),
            _ => None,
        })
        .unwrap();
    Recording {
        files,
        start,
        events,
    }
}

/// `ffprobe -show_format` duration in seconds, if the container states one.
pub fn format_duration(path: &Path) -> Option<f64> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of"])
        .arg("default=nw=1:nk=1")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().parse().ok()
}

/// One frame at `at_s` as 8-bit gray, with its width and height.
pub fn grab_gray(path: &Path, at_s: f64, w: usize, h: usize) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-ss", &format!("{at_s}"), "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), w * h, "frame size");
    out.stdout
}

/// Pixel variance of the rectangle `x0..x1, y0..y1` of a gray frame `w` wide.
pub fn variance(img: &[u8], w: usize, (x0, y0, x1, y1): (usize, usize, usize, usize)) -> f64 {
    let mut n = 0f64;
    let mut sum = 0f64;
    let mut sq = 0f64;
    for y in y0..y1 {
        for x in x0..x1 {
            let v = img[y * w + x] as f64;
            n += 1.0;
            sum += v;
            sq += v * v;
        }
    }
    let mean = sum / n;
    sq / n - mean * mean
}

/// Mean absolute difference of a rectangle between two gray frames.
pub fn difference(
    a: &[u8],
    b: &[u8],
    w: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
) -> f64 {
    let mut n = 0f64;
    let mut d = 0f64;
    for y in y0..y1 {
        for x in x0..x1 {
            d += (a[y * w + x] as f64 - b[y * w + x] as f64).abs();
            n += 1.0;
        }
    }
    d / n
}
