//! Side-by-side composite of three real recordings (VP8 rotated, H.264, a late joiner):
//! duration, clean decode (ffmpeg), every tile showing video where its participant is
//! present and black (with its label) where not, a running UTC clock, progress, and
//! labels with filter-syntax characters drawn rather than parsed. Prints the encoding
//! speed.
#![cfg(feature = "media")]

mod derived_support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use derived_support::recorder_support::*;
use derived_support::*;
use sworn::recorder::derived::{
    CompositeInput, DerivedError, PlacedFile, PlacedInput, composite, composite_placed,
};

const W: usize = 1280;
const H: usize = 720;

/// Picture area of grid cell `i` (2x2 grid of 640x360), leaving out the label strip at
/// the bottom and the clock strip at the top.
fn picture(i: usize) -> (usize, usize, usize, usize) {
    let (x, y) = ((i % 2) * 640, (i / 2) * 360);
    (x + 20, y + 60, x + 620, y + 290)
}

/// Label strip of cell `i`.
fn label(i: usize) -> (usize, usize, usize, usize) {
    let (x, y) = ((i % 2) * 640, (i / 2) * 360);
    (x + 4, y + 300, x + 300, y + 356)
}

const CLOCK: (usize, usize, usize, usize) = (440, 0, 840, 50);

fn ffprobe_streams(path: &std::path::Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries"])
        .arg("stream=codec_name,width,height:format=format_name")
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn three_participants_tiled_labelled_clocked_and_mixed() {
    let dir = tempfile::tempdir().unwrap();
    let mk = |name: &str, kind, rotate| {
        let d = dir.path().join(name);
        std::fs::create_dir(&d).unwrap();
        record(&d, kind, rotate)
    };
    let a = mk("a", Kind::Vp8Opus, Duration::from_secs(2));
    let b = mk("b", Kind::H264Opus, Duration::from_secs(3600));
    let c = mk("c", Kind::Vp8Opus, Duration::from_secs(3600));
    assert_eq!(a.files.len(), 2, "participant A has rotated files");
    let hearing_start = a.start;
    let inputs = vec![
        CompositeInput {
            files: a.files.clone(),
            label: "Presiding judge — judge".into(),
            start: a.start,
        },
        CompositeInput {
            files: b.files.clone(),
            // Filter-graph syntax in a name must be drawn, not interpreted.
            label: "O'Brien [room 2]; a:b, 100% %{pts} \\ — witness".into(),
            start: b.start + Duration::from_secs(1),
        },
        CompositeInput {
            files: c.files.clone(),
            label: "Late joiner — interpreter".into(),
            start: c.start + Duration::from_secs(3),
        },
    ];
    let out = dir.path().join("composite.mp4");
    let mut seen = Vec::new();
    let began = Instant::now();
    let info = composite(&inputs, hearing_start, &out, &mut |f| seen.push(f)).unwrap();
    let took = began.elapsed().as_secs_f64();

    // Timeline: the late joiner ends at 3 + 6 = 9 s.
    let dur = format_duration(&out).unwrap();
    assert!(
        (dur - 9.0).abs() <= 0.45,
        "duration {dur} s, want 9 s within 5 %"
    );
    assert!((info.duration_ms as f64 - 9000.0).abs() <= 450.0);
    eprintln!(
        "composite: 3 tiles 1280x720, {dur:.2} s of media in {took:.2} s = {:.2}x real time",
        dur / took
    );
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(info.sha256, sha256(&bytes));
    assert_eq!(info.length, bytes.len() as u64);
    // faststart: the index (moov) precedes the media (mdat).
    let pos = |tag: &[u8]| bytes.windows(4).position(|w| w == tag).unwrap();
    assert!(pos(b"moov") < pos(b"mdat"), "faststart");
    let streams = ffprobe_streams(&out);
    assert!(streams.contains("h264,1280,720"), "{streams}");
    assert!(streams.contains("aac"), "{streams}");
    assert_eq!(decode_errors(&out), "", "decodes without error");

    // 4.5 s: everyone present, each tile shows moving test pictures; cell 4 is empty.
    let all = grab_gray(&out, 4.5, W, H);
    for i in 0..3 {
        let v = variance(&all, W, picture(i));
        assert!(v > 200.0, "tile {i} shows video at 4.5 s (variance {v})");
        let l = variance(&all, W, label(i));
        assert!(l > 100.0, "tile {i} label drawn (variance {l})");
    }
    assert!(variance(&all, W, picture(3)) < 1.0, "unused cell is black");

    // 1.5 s: the late joiner has not joined: black picture, label shown.
    let early = grab_gray(&out, 1.5, W, H);
    assert!(variance(&early, W, picture(0)) > 200.0);
    assert!(variance(&early, W, picture(1)) > 200.0, "B joined at 1 s");
    let v = variance(&early, W, picture(2));
    assert!(v < 1.0, "late joiner's tile is black before joining ({v})");
    assert!(
        variance(&early, W, label(2)) > 100.0,
        "late joiner labelled"
    );

    // 0.5 s: B (joins at 1 s) not there yet either.
    let start = grab_gray(&out, 0.5, W, H);
    assert!(variance(&start, W, picture(1)) < 1.0, "B black before 1 s");

    // 8 s: A (0-6 s) and B (1-7 s) have left, C is there.
    let late = grab_gray(&out, 8.0, W, H);
    assert!(
        variance(&late, W, picture(0)) < 1.0,
        "A black after leaving"
    );
    assert!(
        variance(&late, W, picture(1)) < 1.0,
        "B black after leaving"
    );
    assert!(variance(&late, W, picture(2)) > 200.0, "C still there");

    // The clock: drawn, and different 2 s later.
    let t2 = grab_gray(&out, 2.0, W, H);
    let t4 = grab_gray(&out, 4.0, W, H);
    assert!(variance(&t2, W, CLOCK) > 100.0, "clock drawn");
    let d = difference(&t2, &t4, W, CLOCK);
    assert!(d > 2.0, "clock changes over 2 s (mean difference {d})");

    // Progress: starts at 0, never goes back, ends at exactly 1.
    assert!(seen.len() >= 10, "progress reported {} times", seen.len());
    assert_eq!(seen.first(), Some(&0.0));
    assert_eq!(seen.last(), Some(&1.0));
    assert!(seen.windows(2).all(|w| w[0] <= w[1]));
    assert!(seen.iter().all(|f| (0.0..=1.0).contains(f)));

    // Audio is mixed, not normalised away: the loudest second is as loud as one sine.
    let vol = Command::new("ffmpeg")
        .args(["-nostdin", "-i"])
        .arg(&out)
        .args(["-map", "0:a", "-af", "volumedetect", "-f", "null", "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&vol.stderr);
    let max_db: f64 = text
        .lines()
        .find_map(|l| l.split("max_volume:").nth(1))
        .and_then(|s| s.trim().trim_end_matches(" dB").parse().ok())
        .unwrap();
    // One fixture sine peaks at -18 dBFS; amix's default 1/N weights would keep the
    // mix at or below that, `normalize=0` lets overlapping voices add up.
    assert!(max_db > -15.0, "mixed audio max {max_db} dB");
}

/// The clock strip of a lone 640x360 tile as drawn by a separate ffmpeg run with
/// `text` (same font, size, box and position as the composite's clock).
fn reference_clock(text: &str) -> Vec<u8> {
    let filter = format!(
        "drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:\
         text='{}':fontcolor=white:fontsize=26:box=1:boxcolor=black@0.6:boxborderw=6:\
         x=(w-tw)/2:y=8,format=gray",
        text.replace(':', "\\:")
    );
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i"])
        .arg("color=c=black:s=640x360:r=25:d=0.2")
        .args([
            "-vf",
            &filter,
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "-",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `date -u` rendering of a Unix time, as the clock must show it.
fn utc(secs: u64) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn composite_clock_shows_the_hearing_start_in_utc() {
    // Hearing starts 0.4 s before a whole second; the participant joins 2 s later, so
    // the clock is drawn over a black tile until then.
    let dir = tempfile::tempdir().unwrap();
    let rec = record(dir.path(), Kind::Vp8Only, Duration::from_secs(3600));
    let hearing = rec.start - Duration::from_millis(400);
    let out = dir.path().join("one.mp4");
    let inputs = [CompositeInput {
        files: rec.files.clone(),
        label: "Witness — witness".into(),
        start: rec.start + Duration::from_millis(1600),
    }];
    composite(&inputs, hearing, &out, &mut |_| {}).unwrap();
    assert_eq!(decode_errors(&out), "");
    assert!((format_duration(&out).unwrap() - 8.0).abs() < 0.4);
    let (w, h) = (640, 360);
    let clock = (120, 0, 520, 50);
    let a = grab_gray(&out, 0.04, w, h);
    let b = grab_gray(&out, 0.32, w, h);
    let c = grab_gray(&out, 0.52, w, h);
    let (same, next) = (difference(&a, &b, w, clock), difference(&b, &c, w, clock));
    eprintln!("clock region difference: same second {same:.3}, next second {next:.3}");
    assert!(variance(&a, w, clock) > 100.0, "clock drawn");
    assert!(same < 0.5, "same second, same text ({same})");
    assert!(next > 2.0, "next second, new text ({next})");
    // What it reads: the hearing start's second in UTC, compared with the same text
    // drawn by ffmpeg itself; the neighbouring seconds do not match.
    let t0s = rec
        .start
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let right = difference(&a, &reference_clock(&utc(t0s - 1)), w, clock);
    let before = difference(&a, &reference_clock(&utc(t0s - 2)), w, clock);
    let after = difference(&c, &reference_clock(&utc(t0s - 1)), w, clock);
    let right_c = difference(&c, &reference_clock(&utc(t0s)), w, clock);
    eprintln!(
        "clock vs reference: {right:.3} (wrong second {before:.3}), at 0.52 s {right_c:.3} ({after:.3})"
    );
    assert!(
        right < 1.5 && right * 3.0 < before,
        "clock shows {}",
        utc(t0s - 1)
    );
    assert!(
        right_c < 1.5 && right_c * 3.0 < after,
        "clock shows {}",
        utc(t0s)
    );
    // The participant is black before joining at 2 s, video after.
    let pic = (20, 60, 620, 290);
    assert!(variance(&a, w, pic) < 1.0);
    assert!(variance(&grab_gray(&out, 2.5, w, h), w, pic) > 200.0);
}

#[test]
fn composite_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.mp4");
    let t = t0();
    assert!(matches!(
        composite(&[], t, &out, &mut |_| {}),
        Err(DerivedError::NoInputs)
    ));
    let one = CompositeInput {
        files: Vec::<PathBuf>::new(),
        label: "x".into(),
        start: t,
    };
    let ten = vec![one.clone(); 10];
    assert!(matches!(
        composite(&ten, t, &out, &mut |_| {}),
        Err(DerivedError::TooManyInputs(10))
    ));
    assert!(matches!(
        composite(&[one], t, &out, &mut |_| {}),
        Err(DerivedError::Incompatible(_))
    ));
    assert!(!out.exists());
    // Start times days apart would mean days of black video: refused.
    let rec = record(dir.path(), Kind::Vp8Only, Duration::from_secs(3600));
    let far = CompositeInput {
        files: rec.files.clone(),
        label: "far".into(),
        start: t + Duration::from_secs(3 * 86_400),
    };
    assert!(matches!(
        composite(&[far], t, &out, &mut |_| {}),
        Err(DerivedError::Incompatible(_))
    ));
    assert!(!out.exists());
    std::fs::write(&out, b"keep").unwrap();
    let real = CompositeInput {
        files: rec.files,
        label: "y".into(),
        start: t,
    };
    assert!(matches!(
        composite(&[real], t, &out, &mut |_| {}),
        Err(DerivedError::OutputExists)
    ));
    assert_eq!(std::fs::read(&out).unwrap(), b"keep");
}

#[test]
fn reconnected_participant_shows_black_between_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (d1, d2) = (dir.path().join("c1"), dir.path().join("c2"));
    std::fs::create_dir(&d1).unwrap();
    std::fs::create_dir(&d2).unwrap();
    let first = record(&d1, Kind::Vp8Opus, Duration::from_secs(3600));
    let second = record(&d2, Kind::Vp8Opus, Duration::from_secs(3600));
    let input = PlacedInput {
        files: vec![
            PlacedFile {
                path: first.files[0].clone(),
                start: first.start,
            },
            PlacedFile {
                path: second.files[0].clone(),
                start: first.start + Duration::from_secs(9),
            },
        ],
        label: "Witness — witness".into(),
    };
    let out = dir.path().join("gap.mp4");
    composite_placed(&[input], first.start, "", &out, &mut |_| {}).unwrap();
    assert!((format_duration(&out).unwrap() - 15.0).abs() <= 0.75);
    assert_eq!(decode_errors(&out), "");
    let (w, h) = (640, 360);
    let pic = (20, 60, 620, 290);
    let lab = (4, 300, 300, 356);
    assert!(variance(&grab_gray(&out, 3.0, w, h), w, pic) > 200.0);
    let gap = grab_gray(&out, 7.5, w, h);
    assert!(variance(&gap, w, pic) < 1.0, "black between connections");
    assert!(variance(&gap, w, lab) > 100.0, "label stays");
    assert!(variance(&grab_gray(&out, 11.0, w, h), w, pic) > 200.0);
}

/// Peak resident memory of this process (kB), from /proc.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

/// Measurement (run alone, ideally `--release`): nine tiles (1920x1080), staggered
/// joins, then one participant joining 90 s late; prints speed and peak memory.
#[test]
#[ignore = "measurement; run with --ignored --nocapture"]
fn measure_composite_speed_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    for i in 0..9u64 {
        let d = dir.path().join(format!("p{i}"));
        std::fs::create_dir(&d).unwrap();
        let kind = if i % 2 == 0 {
            Kind::Vp8Opus
        } else {
            Kind::H264Opus
        };
        let rec = record(&d, kind, Duration::from_secs(2));
        inputs.push(CompositeInput {
            files: rec.files,
            label: format!("Participant {i} — role"),
            start: rec.start + Duration::from_secs(i),
        });
    }
    let start = inputs[0].start;
    let late = vec![
        inputs[0].clone(),
        CompositeInput {
            start: start + Duration::from_secs(90),
            ..inputs[1].clone()
        },
    ];
    let out2 = dir.path().join("late.mp4");
    let t = Instant::now();
    let info = composite(&late, start, &out2, &mut |_| {}).unwrap();
    let s = t.elapsed().as_secs_f64();
    let media = info.duration_ms as f64 / 1000.0;
    let peak = peak_rss_kb();
    eprintln!(
        "2 tiles, joiner 90 s late: {media:.1} s media in {s:.2} s = {:.2}x real time; \
         peak RSS {peak} kB (process)",
        media / s
    );
    assert!((media - 96.0).abs() < 1.0);
    assert!(peak < 300_000, "memory stays bounded ({peak} kB)");

    let out = dir.path().join("nine.mp4");
    let t = Instant::now();
    let info = composite(&inputs, start, &out, &mut |_| {}).unwrap();
    let s = t.elapsed().as_secs_f64();
    let media = info.duration_ms as f64 / 1000.0;
    eprintln!(
        "9 tiles 1920x1080: {media:.1} s media in {s:.2} s = {:.2}x real time, {} bytes",
        media / s,
        info.length
    );
    assert_eq!(decode_errors(&out), "");
}
