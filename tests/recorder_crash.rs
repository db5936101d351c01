//! Crash safety under a real `kill -9`: a child process (this test binary re-run in
//! child mode) records the fixture stream in real time and is SIGKILLed at a seeded
//! random moment; the file it leaves must decode and end within 1.5 s of the last
//! frame the child pushed.
#![cfg(feature = "media")]

mod recorder_support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use recorder_support::*;
use sworn::recorder::{ParticipantRecorder, RtpIn};

const CHILD_ENV: &str = "SWORN_RECORDER_CRASH_CHILD";

/// Child mode: records in real time until killed. Does nothing in a normal test run.
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    let fx = fixtures();
    let video = read_ivf(&fx.join("video.ivf"));
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    let sent = vp8_av(&video, &audio);
    let start = Instant::now();
    let wall = SystemTime::now();
    let mut rec = ParticipantRecorder::new(
        config(dir, Duration::from_secs(3600)),
        vec![vp8_spec(), opus_spec()],
        wall,
    )
    .unwrap();
    let mut progress = std::fs::File::create(dir.join("progress")).unwrap();
    let mut next_tick = Duration::from_millis(100);
    for s in sent {
        let offset = s.pkt.arrival.duration_since(t0()).unwrap();
        while next_tick <= offset {
            sleep_until(start + next_tick);
            rec.tick(wall + next_tick);
            next_tick += Duration::from_millis(100);
        }
        sleep_until(start + offset);
        let marker = s.pkt.marker;
        rec.push(
            s.track,
            RtpIn {
                arrival: wall + offset,
                ..s.pkt
            },
        );
        if marker {
            // A complete frame was pushed: record its media time (ms) for the parent.
            writeln!(progress, "{} {}", s.track, offset.as_millis()).unwrap();
        }
    }
    // Out of media before the kill: keep the process alive to be killed.
    std::thread::sleep(Duration::from_secs(60));
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

/// Last complete progress line per track: media ms of the last pushed frame.
fn last_pushed(dir: &Path) -> [u64; 2] {
    let text = std::fs::read_to_string(dir.join("progress")).unwrap();
    let mut last = [0u64; 2];
    for line in text.lines().filter(|l| text.contains(&format!("{l}\n"))) {
        let mut it = line.split(' ');
        let (Some(t), Some(ms)) = (it.next(), it.next()) else {
            continue;
        };
        if let (Ok(t), Ok(ms)) = (t.parse::<usize>(), ms.parse::<u64>()) {
            if t < 2 {
                last[t] = ms;
            }
        }
    }
    last
}

#[test]
fn sigkill_at_random_points_leaves_a_decodable_file_missing_at_most_1_5_s() {
    fixtures();
    let exe = std::env::current_exe().unwrap();
    for seed in [7u64, 1_234, 99_991, 31_337] {
        // Seeded kill time between 1.2 s and 5.2 s (LCG, reproducible per seed).
        let r = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let kill_after = Duration::from_millis(1_200 + (r >> 33) % 4_000);
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(kill_after);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let file = dir.path().join("p-001.webm");
        assert!(file.exists(), "seed {seed}: no file after {kill_after:?}");
        assert_eq!(decode_errors(&file), "", "seed {seed}");
        let pushed = last_pushed(dir.path());
        let stored = last_pts_ms(&file);
        assert_eq!(stored.len(), 2, "seed {seed}: both tracks stored");
        for t in 0..2 {
            let behind = pushed[t] as f64 - stored[t];
            assert!(
                behind <= 1_500.0,
                "seed {seed} kill {kill_after:?} track {t}: pushed {} stored {}",
                pushed[t],
                stored[t]
            );
        }
        eprintln!(
            "seed {seed}: killed at {kill_after:?}, pushed {pushed:?} ms, stored {stored:?} ms"
        );
    }
}
