//! Disk full while recording: a small tmpfs fills up mid-file. The recorder must report
//! Degraded, leave the bytes it reported untouched, drop media while it cannot write,
//! and resume into a new file once space is free. Needs root (mount); skipped with a
//! message otherwise.
#![cfg(feature = "media")]

mod recorder_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use recorder_support::*;
use sworn::recorder::{ParticipantRecorder, RecorderEvent};

/// A tmpfs mounted for the test's lifetime.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?
            .success();
        ok.then_some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn disk_full_degrades_keeps_reported_bytes_and_resumes_when_space_returns() {
    let Some(fs) = Tmpfs::mount("512k") else {
        eprintln!("SKIPPED: cannot mount a tmpfs (needs root)");
        return;
    };
    let fx = fixtures();
    let video = read_ivf(&fx.join("video.ivf"));
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    let dir = fs.path();
    // Leave ~200 KiB free: the file fills it after ~2 s of 600 kbit/s video.
    std::fs::write(dir.join("filler"), vec![0u8; 300 * 1024]).unwrap();
    let sent = vp8_av(&video, &audio);
    let mut rec = ParticipantRecorder::new(
        config(dir, Duration::from_secs(3600)),
        vec![vp8_spec(), opus_spec()],
        t0(),
    )
    .unwrap();
    let mut events = Vec::new();
    let mut snaps: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut next_tick = 100;
    let mut degraded_at = None;
    let mut take = |evs: Vec<RecorderEvent>, events: &mut Vec<RecorderEvent>| {
        for e in &evs {
            if let RecorderEvent::Chunk {
                file,
                offset,
                length,
                ..
            } = e
            {
                let b = std::fs::read(dir.join(file)).unwrap();
                snaps.push((file.clone(), b[..(offset + length) as usize].to_vec()));
            }
        }
        events.extend(evs);
    };
    for s in &sent {
        let ms = s.pkt.arrival.duration_since(t0()).unwrap().as_millis() as u64;
        while next_tick <= ms {
            take(rec.tick(at_ms(next_tick)), &mut events);
            next_tick += 100;
        }
        take(rec.push(s.track, s.pkt.clone()), &mut events);
        if degraded_at.is_none()
            && events
                .iter()
                .any(|e| matches!(e, RecorderEvent::Degraded { .. }))
        {
            // Operator frees space.
            degraded_at = Some(ms);
            std::fs::remove_file(dir.join("filler")).unwrap();
        }
    }
    take(rec.finish(at_ms(6100)).unwrap(), &mut events);
    let degraded_at = degraded_at.expect("the disk filled up");
    assert!(degraded_at < 4000, "filled at {degraded_at} ms");
    let resumed = events
        .iter()
        .find_map(|e| match e {
            RecorderEvent::Resumed { file } => Some(file.clone()),
            _ => None,
        })
        .expect("resumed");
    assert_eq!(resumed, PathBuf::from("p-002.webm"));
    // The first file: sealed at what is on disk, every reported byte unchanged.
    for (f, prefix) in &snaps {
        let now = std::fs::read(dir.join(f)).unwrap();
        assert!(now.starts_with(prefix), "{f:?} rewritten");
    }
    check_chunks(dir, &events, Path::new("p-001.webm"));
    check_chunks(dir, &events, Path::new("p-002.webm"));
    // What the full disk left of file 1 still decodes as far as it goes.
    let d1 = demux(&dir.join("p-001.webm"));
    assert!(d1[0].packets.len() >= 20, "file 1 keeps its first second");
    // File 2 starts at a keyframe and holds the rest to the end, byte-exact.
    let p2 = dir.join("p-002.webm");
    assert_eq!(decode_errors(&p2), "");
    let d2 = demux(&p2);
    let first = video.iter().position(|f| *f == d2[0].packets[0].2).unwrap();
    assert_eq!(first % 30, 0, "resumes at a keyframe");
    assert!(
        d2[0]
            .packets
            .iter()
            .map(|p| p.2.clone())
            .eq(video[first..].iter().cloned())
    );
    let gaps = events
        .iter()
        .filter(|e| matches!(e, RecorderEvent::Gap { .. }))
        .count();
    assert!(gaps >= 1, "dropped media is reported");
    eprintln!(
        "disk full at {degraded_at} ms; file 1 {} video frames, file 2 from frame {first}",
        d1[0].packets.len()
    );
}
