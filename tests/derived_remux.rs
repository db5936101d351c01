//! Seekable copies: rotated recorder files remuxed into one WebM / Matroska file with
//! every packet byte-identical, timestamps continuous, a duration and cues, and seeking
//! that works; checked with ffmpeg-next demuxing, ffprobe and ffmpeg.
#![cfg(feature = "media")]

mod derived_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use derived_support::recorder_support::*;
use derived_support::*;
use sworn::recorder::derived::{DerivedError, PlacedFile, remux_seekable, remux_seekable_placed};

/// Matroska Cues element ID.
const CUES_ID: [u8; 4] = [0x1C, 0x53, 0xBB, 0x6B];

fn has_cues(path: &Path) -> bool {
    std::fs::read(path)
        .unwrap()
        .windows(4)
        .any(|w| w == CUES_ID)
}

/// First video packet time ffprobe reads after seeking to `at_s`.
fn seek_first_video_pts(path: &Path, at_s: f64) -> f64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-read_intervals"])
        .arg(format!("{at_s}%+#1"))
        .args(["-show_entries", "packet=pts_time", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn rotated_vp8_files_become_one_seekable_webm_with_identical_packets() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record(dir.path(), Kind::Vp8Opus, Duration::from_secs(2));
    assert_eq!(rec.files.len(), 2, "the fixture rotates once");
    for f in &rec.files {
        assert!(!has_cues(f), "live recordings have no cues");
    }
    let out = dir.path().join("copy.webm");
    let info = remux_seekable(&rec.files, &out).unwrap();

    // The returned facts are the file's.
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(info.length, bytes.len() as u64);
    assert_eq!(info.sha256, sha256(&bytes));
    assert_eq!(info.path, out);

    // Every packet byte-identical, in order, per stream.
    let copy = demux(&out);
    assert_eq!(copy.len(), 2);
    let mut want_v = Vec::new();
    let mut want_a = Vec::new();
    for f in &rec.files {
        let d = demux(f);
        want_v.extend(d[0].packets.iter().map(|p| p.2.clone()));
        want_a.extend(d[1].packets.iter().map(|p| p.2.clone()));
    }
    let got_v: Vec<_> = copy[0].packets.iter().map(|p| p.2.clone()).collect();
    let got_a: Vec<_> = copy[1].packets.iter().map(|p| p.2.clone()).collect();
    assert_eq!(got_v.len(), 120);
    assert!(got_v == want_v, "video payloads identical");
    assert!(got_a == want_a, "audio payloads identical");
    assert!(got_v == read_ivf(&fixtures().join("video.ivf")));

    // Timeline: the second file continues where the first ended (20 fps: 50 ms).
    let pts: Vec<i64> = copy[0].packets.iter().map(|p| p.0).collect();
    for (i, p) in pts.iter().enumerate() {
        assert!(
            *p == 50 * i as i64,
            "video frame {i} at {p} ms, want ~{}",
            50 * i
        );
    }
    let apts: Vec<i64> = copy[1].packets.iter().map(|p| p.0).collect();
    assert!(
        apts.windows(2).all(|w| w[0] < w[1]),
        "audio strictly increasing"
    );
    for (k, p) in apts.iter().enumerate() {
        assert_eq!(*p, 20 * k as i64, "audio packet {k}");
    }

    // Duration, cues, seeking, clean decode.
    let dur = format_duration(&out).expect("duration in the header");
    assert!((dur - 6.0).abs() < 0.2, "duration {dur}");
    assert!((info.duration_ms as f64 / 1000.0 - dur).abs() < 0.1);
    assert!(has_cues(&out), "cues written");
    let at = seek_first_video_pts(&out, 4.6);
    assert!(
        (4.4..=4.6).contains(&at),
        "seek to 4.6 s lands on the 4.5 s keyframe: {at}"
    );
    assert_eq!(decode_errors(&out), "");
    let seek = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-ss", "3.2", "-i"])
        .arg(&out)
        .args(["-frames:v", "5", "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(seek.status.success() && seek.stderr.is_empty());
}

#[test]
fn h264_recording_becomes_seekable_matroska_with_identical_packets() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record(dir.path(), Kind::H264Opus, Duration::from_secs(3600));
    assert_eq!(rec.files.len(), 1);
    let out = dir.path().join("copy.mkv");
    remux_seekable(&rec.files, &out).unwrap();
    let a = demux(&rec.files[0]);
    let b = demux(&out);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.codec, y.codec);
        assert!(
            x.packets == y.packets,
            "{} packets identical incl. pts and keys",
            x.codec
        );
    }
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=format_name",
            "-of",
            "csv=p=0",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&probe.stdout).contains("matroska"));
    assert!(has_cues(&out));
    let dur = format_duration(&out);
    assert!(
        dur.is_some_and(|d| (d - 6.0).abs() < 0.2),
        "duration {dur:?}"
    );
    assert_eq!(decode_errors(&out), "");
}

#[test]
fn never_overwrites_and_needs_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let rec = record(dir.path(), Kind::Vp8Only, Duration::from_secs(3600));
    let out = dir.path().join("exists.webm");
    std::fs::write(&out, b"keep").unwrap();
    assert!(matches!(
        remux_seekable(&rec.files, &out),
        Err(DerivedError::OutputExists)
    ));
    assert_eq!(std::fs::read(&out).unwrap(), b"keep");
    assert!(matches!(
        remux_seekable(&[], &dir.path().join("x.webm")),
        Err(DerivedError::NoInputs)
    ));
    // A recording file as output target is refused too (it exists).
    let before = std::fs::read(&rec.files[0]).unwrap();
    assert!(remux_seekable(&rec.files, &rec.files[0]).is_err());
    assert_eq!(std::fs::read(&rec.files[0]).unwrap(), before);
    // A file that is not media fails cleanly and leaves no output behind.
    let junk = dir.path().join("junk.webm");
    std::fs::write(&junk, b"not a recording").unwrap();
    let out2 = dir.path().join("none.webm");
    assert!(remux_seekable(&[junk], &out2).is_err());
    assert!(!out2.exists());
}

#[test]
fn placed_files_keep_the_gap_between_two_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (d1, d2) = (dir.path().join("c1"), dir.path().join("c2"));
    std::fs::create_dir(&d1).unwrap();
    std::fs::create_dir(&d2).unwrap();
    let first = record(&d1, Kind::Vp8Opus, Duration::from_secs(3600));
    let second = record(&d2, Kind::Vp8Opus, Duration::from_secs(3600));
    // The second connection's media starts 9 s after the first's: a 3 s gap.
    let placed = [
        PlacedFile {
            path: first.files[0].clone(),
            start: first.start,
        },
        PlacedFile {
            path: second.files[0].clone(),
            start: first.start + Duration::from_secs(9),
        },
    ];
    let out = dir.path().join("both.webm");
    let info = remux_seekable_placed(&placed, &out).unwrap();
    let v = &demux(&out)[0].packets;
    assert_eq!(v.len(), 240);
    for (i, p) in v.iter().enumerate() {
        let want = if i < 120 {
            50 * i as i64
        } else {
            9000 + 50 * (i as i64 - 120)
        };
        assert_eq!(p.0, want, "video packet {i}");
    }
    assert!((info.duration_ms as i64 - 15_000).abs() <= 100);
    assert!(format_duration(&out).is_some_and(|d| (d - 15.0).abs() < 0.2));
    assert_eq!(decode_errors(&out), "");
    // Back to back, the same files would overlap nothing and leave no gap.
    let packed = dir.path().join("packed.webm");
    let info2 = remux_seekable(&[placed[0].path.clone(), placed[1].path.clone()], &packed).unwrap();
    assert!((info2.duration_ms as i64 - 12_000).abs() <= 100);
}
