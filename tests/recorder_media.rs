//! Recorder end to end on real fixture media: synthetic RTP (with loss, reorder,
//! duplicates, sequence and timestamp wrap, SSRC change) -> file; checked with ffprobe,
//! ffmpeg decoding and libavformat demuxing against the input frames.
#![cfg(feature = "media")]

mod recorder_support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use recorder_support::*;
use sworn::recorder::{GapKind, ParticipantRecorder, RecorderEvent};

/// Feeds packets in order, ticking every 100 ms of arrival time; at every Chunk event
/// snapshots the reported prefix of the file as it is on disk then.
struct Run {
    rec: Option<ParticipantRecorder>,
    events: Vec<RecorderEvent>,
    snapshots: Vec<(PathBuf, Vec<u8>)>,
    dir: PathBuf,
    next_tick: u64,
}

impl Run {
    fn new(dir: &std::path::Path, rec: ParticipantRecorder) -> Self {
        Self {
            rec: Some(rec),
            events: Vec::new(),
            snapshots: Vec::new(),
            dir: dir.to_path_buf(),
            next_tick: 100,
        }
    }

    fn take(&mut self, evs: Vec<RecorderEvent>) {
        for e in &evs {
            if let RecorderEvent::Chunk {
                file,
                offset,
                length,
                ..
            } = e
            {
                let b = std::fs::read(self.dir.join(file)).unwrap();
                self.snapshots
                    .push((file.clone(), b[..(offset + length) as usize].to_vec()));
            }
        }
        self.events.extend(evs);
    }

    fn tick_until(&mut self, ms: u64) {
        while self.next_tick <= ms {
            let evs = self.rec.as_mut().unwrap().tick(at_ms(self.next_tick));
            self.take(evs);
            self.next_tick += 100;
        }
    }

    fn feed(&mut self, sent: &[Sent]) {
        for s in sent {
            let ms = s.pkt.arrival.duration_since(t0()).unwrap().as_millis() as u64;
            self.tick_until(ms);
            let evs = self.rec.as_mut().unwrap().push(s.track, s.pkt.clone());
            self.take(evs);
        }
    }

    fn finish(mut self, end_ms: u64) -> (Vec<RecorderEvent>, Vec<(PathBuf, Vec<u8>)>) {
        self.tick_until(end_ms);
        let evs = self.rec.take().unwrap().finish(at_ms(end_ms + 1)).unwrap();
        self.take(evs);
        (self.events, self.snapshots)
    }
}

fn check_prefixes(dir: &std::path::Path, snaps: &[(PathBuf, Vec<u8>)]) {
    assert!(!snaps.is_empty());
    for (f, prefix) in snaps {
        let final_bytes = std::fs::read(dir.join(f)).unwrap();
        assert!(
            final_bytes.starts_with(prefix),
            "reported bytes of {f:?} were rewritten"
        );
    }
}

#[test]
fn vp8_opus_clean_stream_is_stored_byte_exact_with_tiling_chunks() {
    let fx = fixtures();
    let video = read_ivf(&fx.join("video.ivf"));
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    assert_eq!(video.len(), 120);
    let dir = tempfile::tempdir().unwrap();
    let rec = ParticipantRecorder::new(
        config(dir.path(), Duration::from_secs(3600)),
        vec![vp8_spec(), opus_spec()],
        t0(),
    )
    .unwrap();
    let sent = merge(vec![
        rtp_track(0, &vp8_payloads(&video), 50, 4500, 1000, 7, 0xaaaa, 0),
        rtp_track(1, &opus_payloads(&audio), 20, 960, 20, 99, 0xbbbb, 3),
    ]);
    let mut run = Run::new(dir.path(), rec);
    run.feed(&sent);
    let (events, snaps) = run.finish(6100);

    let files = files_started(&events);
    assert_eq!(files, vec![PathBuf::from("p-001.webm")]);
    let path = dir.path().join(&files[0]);
    assert_eq!(
        ffprobe_counts(&path),
        vec![("vp8".into(), 120), ("opus".into(), audio.len() as u64)]
    );
    assert_eq!(decode_errors(&path), "");
    let d = demux(&path);
    let got_v: Vec<_> = d[0].packets.iter().map(|p| p.2.clone()).collect();
    let got_a: Vec<_> = d[1].packets.iter().map(|p| p.2.clone()).collect();
    assert!(got_v == video, "video payloads differ");
    assert!(got_a == audio, "audio payloads differ");
    // PTS follow RTP time: 50 ms per video frame, 20 ms per audio frame.
    let v_pts: Vec<i64> = d[0].packets.iter().map(|p| p.0).collect();
    assert!(v_pts.windows(2).all(|w| w[1] - w[0] == 50), "{v_pts:?}");
    let a0 = d[1].packets[0].0;
    assert!(
        (a0 - v_pts[0] - 3).abs() <= 1,
        "audio starts 3 ms after video: {a0}"
    );
    check_chunks(dir.path(), &events, &files[0]);
    check_prefixes(dir.path(), &snaps);
    // The sealed hash, checked by openssl as an independent implementation.
    let sealed = events
        .iter()
        .find_map(|e| match e {
            RecorderEvent::FileSealed { sha256, .. } => Some(hex::encode(sha256)),
            _ => None,
        })
        .unwrap();
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .arg(&path)
        .output()
        .unwrap();
    let openssl = String::from_utf8(out.stdout).unwrap();
    assert_eq!(openssl.split(' ').next().unwrap(), sealed);
    let chunks = events
        .iter()
        .filter(|e| matches!(e, RecorderEvent::Chunk { .. }))
        .count();
    assert!(chunks >= 6, "a chunk per second: {chunks}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, RecorderEvent::Gap { .. }))
    );
}

#[test]
fn impaired_rtp_keeps_exactly_the_complete_frames() {
    let fx = fixtures();
    let video = read_ivf(&fx.join("video.ivf"));
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    let dir = tempfile::tempdir().unwrap();
    let rec = ParticipantRecorder::new(
        config(dir.path(), Duration::from_secs(3600)),
        vec![vp8_spec(), opus_spec()],
        t0(),
    )
    .unwrap();
    let vp = vp8_payloads(&video);
    // Video: seq wraps after a few packets, timestamp wraps after ~1 s; SSRC changes at
    // frame 70 (not a keyframe: frames 70..89 cannot be decoded and are dropped until
    // keyframe 90).
    let mut v = rtp_track(0, &vp[..70], 50, 4500, 65530, u32::MAX - 90_000, 0x1111, 0);
    v.extend(
        rtp_track(0, &vp[70..], 50, 4500, 300, 12345, 0x2222, 3500)
            .into_iter()
            .map(|mut s| {
                s.frame += 70;
                s
            }),
    );
    // Audio: timestamp wraps, one SSRC change at frame 150 (audio has no keyframes).
    let ap = opus_payloads(&audio);
    let mut a = rtp_track(1, &ap[..150], 20, 960, 65000, u32::MAX - 48_000, 0x3333, 3);
    a.extend(
        rtp_track(1, &ap[150..], 20, 960, 7, 5, 0x4444, 3003)
            .into_iter()
            .map(|mut s| {
                s.frame += 150;
                s
            }),
    );
    // Losses: the second packet of the first multi-packet inter frame after frame 40,
    // and audio frames 40 and 41.
    let lost_v = (41..70)
        .find(|&i| vp[i].len() >= 2 && video[i][0] & 1 == 1)
        .unwrap();
    let v_lost_seq = v
        .iter()
        .filter(|s| s.frame == lost_v)
        .nth(1)
        .unwrap()
        .pkt
        .seq;
    v.retain(|s| s.pkt.seq != v_lost_seq || s.frame != lost_v);
    a.retain(|s| s.frame != 40 && s.frame != 41);
    let sent = merge(vec![v, a]);
    // Duplicates: every 11th packet is sent twice, the copy 30 ms later.
    let mut with_dups = Vec::new();
    for (i, s) in sent.into_iter().enumerate() {
        with_dups.push(s.clone());
        if i % 11 == 0 {
            let mut d = s.clone();
            d.pkt.arrival += Duration::from_millis(30);
            with_dups.push(d);
        }
    }
    with_dups.sort_by_key(|s| s.pkt.arrival);
    // Reorder: swap neighbours of the same track every 7 packets.
    for i in (5..with_dups.len() - 1).step_by(7) {
        if with_dups[i].track == with_dups[i + 1].track {
            with_dups.swap(i, i + 1);
        }
    }
    let mut run = Run::new(dir.path(), rec);
    run.feed(&with_dups);
    let (events, snaps) = run.finish(6200);

    let mut want_v: Vec<_> = (0..video.len())
        .filter(|&i| i != lost_v && !(70..90).contains(&i))
        .collect();
    want_v.dedup();
    let want_a: Vec<_> = (0..audio.len()).filter(|&i| i != 40 && i != 41).collect();
    let files = files_started(&events);
    assert_eq!(files.len(), 1);
    let path = dir.path().join(&files[0]);
    assert_eq!(
        ffprobe_counts(&path),
        vec![
            ("vp8".into(), want_v.len() as u64),
            ("opus".into(), want_a.len() as u64)
        ]
    );
    assert_eq!(decode_errors(&path), "");
    let d = demux(&path);
    let got_v: Vec<_> = d[0].packets.iter().map(|p| p.2.clone()).collect();
    let got_a: Vec<_> = d[1].packets.iter().map(|p| p.2.clone()).collect();
    let exp_v: Vec<_> = want_v.iter().map(|&i| video[i].clone()).collect();
    let exp_a: Vec<_> = want_a.iter().map(|&i| audio[i].clone()).collect();
    assert!(got_v == exp_v, "video frames differ");
    assert!(got_a == exp_a, "audio frames differ");
    // Time keeps running across the wraps and the SSRC change.
    let pts: Vec<i64> = d[0].packets.iter().map(|p| p.0).collect();
    assert!(pts.windows(2).all(|w| w[1] > w[0]));
    let kf90 = d[0].packets.iter().position(|p| p.2 == video[90]).unwrap();
    assert!((pts[kf90] - 4500).abs() <= 60, "frame 90 at {}", pts[kf90]);
    check_chunks(dir.path(), &events, &files[0]);
    check_prefixes(dir.path(), &snaps);
    let mut gaps = BTreeMap::new();
    for e in &events {
        if let RecorderEvent::Gap { track, kind, .. } = e {
            gaps.entry(*track)
                .or_insert_with(Vec::new)
                .push(kind.clone());
        }
    }
    assert!(gaps[&0].contains(&GapKind::Loss { packets: 1 }));
    assert!(gaps[&0].contains(&GapKind::SsrcChange {
        from: 0x1111,
        to: 0x2222
    }));
    assert!(gaps[&0].contains(&GapKind::FramesDropped { frames: 20 }));
    assert!(gaps[&1].contains(&GapKind::Loss { packets: 2 }));
    assert!(gaps[&1].contains(&GapKind::SsrcChange {
        from: 0x3333,
        to: 0x4444
    }));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RecorderEvent::NeedKeyframe { track: 0 }))
    );
}

/// First packet pts (ms) of video and audio when audio arrives 80 ms after video of the
/// same capture instant, with or without RTCP sender reports.
fn first_pts_with_late_audio(with_sr: bool) -> (i64, i64) {
    let fx = fixtures();
    let video = read_ivf(&fx.join("video.ivf"));
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    let dir = tempfile::tempdir().unwrap();
    let mut rec = ParticipantRecorder::new(
        config(dir.path(), Duration::from_secs(3600)),
        vec![vp8_spec(), opus_spec()],
        t0(),
    )
    .unwrap();
    if with_sr {
        // The sender's clock is 3 s behind the server's; RTP 0 on both tracks is the
        // same capture instant.
        let sender_secs = T0_SECS - 3 + 2_208_988_800;
        rec.sender_report(0, sender_secs << 32, 1_000, at_ms(0));
        rec.sender_report(1, sender_secs << 32, 500, at_ms(0));
    }
    let sent = merge(vec![
        rtp_track(0, &vp8_payloads(&video[..40]), 50, 4500, 1, 1_000, 1, 0),
        rtp_track(1, &opus_payloads(&audio[..100]), 20, 960, 1, 500, 2, 80),
    ]);
    let mut run = Run::new(dir.path(), rec);
    run.feed(&sent);
    let (events, _) = run.finish(2_200);
    let files = files_started(&events);
    let d = demux(&dir.path().join(&files[0]));
    (d[0].packets[0].0, d[1].packets[0].0)
}

#[test]
fn sender_reports_align_audio_with_video_at_file_start() {
    let (v, a) = first_pts_with_late_audio(false);
    assert!(
        (a - v - 80).abs() <= 1,
        "by arrival audio is 80 ms late: {v} {a}"
    );
    let (v, a) = first_pts_with_late_audio(true);
    assert!((a - v).abs() <= 1, "sender reports line them up: {v} {a}");
}
