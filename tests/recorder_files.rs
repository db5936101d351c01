//! Recorder file lifecycle: rotation at keyframes, H.264 into Matroska, audio-only,
//! recovery after a file cannot be written, and what a crash leaves on disk.
#![cfg(feature = "media")]

mod recorder_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use recorder_support::*;
use sworn::recorder::{ParticipantRecorder, RecorderEvent, TrackSpec};

/// Pushes all packets, ticking every 100 ms; returns the recorder and events.
fn drive(
    dir: &Path,
    specs: Vec<TrackSpec>,
    rotate: Duration,
    sent: &[Sent],
) -> (ParticipantRecorder, Vec<RecorderEvent>) {
    let mut rec = ParticipantRecorder::new(config(dir, rotate), specs, t0()).unwrap();
    let mut events = Vec::new();
    let mut next_tick = 100;
    for s in sent {
        let ms = s.pkt.arrival.duration_since(t0()).unwrap().as_millis() as u64;
        while next_tick <= ms {
            events.extend(rec.tick(at_ms(next_tick)));
            if next_tick % 1000 == 0 {
                rec.fsync().unwrap(); // as before each evidence checkpoint
            }
            next_tick += 100;
        }
        events.extend(rec.push(s.track, s.pkt.clone()));
    }
    (rec, events)
}

#[test]
fn rotation_switches_files_at_a_keyframe_and_loses_nothing() {
    let fx = fixtures();
    let video = read_ivf(&fx.join("video.ivf"));
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    let dir = tempfile::tempdir().unwrap();
    let (rec, mut events) = drive(
        dir.path(),
        vec![vp8_spec(), opus_spec()],
        Duration::from_secs(2),
        &vp8_av(&video, &audio),
    );
    events.extend(rec.finish(at_ms(6100)).unwrap());
    let files = files_started(&events);
    // keyframes every 1.5 s: 0, 1.5, 3.0, 4.5 -> rotation due at 2.0, done at 3.0;
    // the next is due at 5.0 and no keyframe follows.
    assert_eq!(
        files,
        vec![PathBuf::from("p-001.webm"), PathBuf::from("p-002.webm")]
    );
    // Between the two FileStarted events the only keyframe request is the rotation's
    // (the stream has no loss): it must come before the switch.
    let pos_first = events
        .iter()
        .position(|e| matches!(e, RecorderEvent::FileStarted { .. }))
        .unwrap();
    let pos_second = events
        .iter()
        .position(|e| matches!(e, RecorderEvent::FileStarted { file, .. } if file == &files[1]))
        .unwrap();
    let requests = events[pos_first..pos_second]
        .iter()
        .filter(|e| matches!(e, RecorderEvent::NeedKeyframe { track: 0 }))
        .count();
    assert!(requests >= 1, "rotation asks for a keyframe");
    let mut all_v = Vec::new();
    let mut all_a = Vec::new();
    for f in &files {
        let path = dir.path().join(f);
        assert_eq!(decode_errors(&path), "", "{f:?}");
        check_chunks(dir.path(), &events, f);
        let d = demux(&path);
        assert!(d[0].packets[0].1, "{f:?} starts with a keyframe");
        assert!(
            d[0].packets[0].0 <= 1 && d[1].packets[0].0 <= 30,
            "{f:?} starts near 0"
        );
        all_v.extend(d[0].packets.iter().map(|p| p.2.clone()));
        all_a.extend(d[1].packets.iter().map(|p| p.2.clone()));
    }
    assert_eq!(
        demux(&dir.path().join(&files[1]))[0].packets[0].2,
        video[60]
    );
    assert!(all_v == video, "every video frame in exactly one file");
    assert!(all_a == audio, "every audio frame in exactly one file");
    let sealed = events
        .iter()
        .filter(|e| matches!(e, RecorderEvent::FileSealed { .. }))
        .count();
    assert_eq!(sealed, 2);
}

/// Width and height of a file's video stream, as ffprobe reads its header.
fn probed_size(path: &Path) -> (u32, u32) {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=width,height", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text
        .trim()
        .split(',')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

#[test]
fn a_keyframe_of_another_size_starts_a_new_file_that_says_so() {
    // A simulcast publisher's recorded layer changes from 640x360 to 320x180 (another
    // SSRC, at the smaller layer's keyframe) three seconds in.
    let fx = fixtures();
    let big = vp8_payloads(&read_ivf(&fx.join("video.ivf")));
    let small = vp8_payloads(&read_ivf(&fx.join("video-small.ivf")));
    let audio = opus_payloads(&read_ogg_opus(&fx.join("audio.ogg")));
    let sent = merge(vec![
        rtp_track(0, &big[..60], 50, 4500, 100, 7, 1, 0),
        rtp_track(0, &small[60..], 50, 4500, 900, 90_000, 2, 3000),
        rtp_track(1, &audio, 20, 960, 1, 0, 3, 0),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let (rec, mut events) = drive(
        dir.path(),
        vec![vp8_spec(), opus_spec()],
        Duration::from_secs(3600),
        &sent,
    );
    events.extend(rec.finish(at_ms(6100)).unwrap());
    let files = files_started(&events);
    assert_eq!(
        files,
        vec![PathBuf::from("p-001.webm"), PathBuf::from("p-002.webm")]
    );
    assert_eq!(probed_size(&dir.path().join(&files[0])), (640, 360));
    assert_eq!(probed_size(&dir.path().join(&files[1])), (320, 180));
    for f in &files {
        assert_eq!(decode_errors(&dir.path().join(f)), "", "{f:?}");
        check_chunks(dir.path(), &events, f);
    }
}

#[test]
fn h264_goes_into_matroska_with_avcc_and_exact_nals() {
    let fx = fixtures();
    let aus = read_h264(&fx.join("video.h264"));
    assert_eq!(aus.len(), 120);
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    let hp: Vec<_> = aus.iter().map(|au| packetize_h264(au, 1100)).collect();
    let ap = opus_payloads(&audio);
    let sent = merge(vec![
        rtp_track(0, &hp, 50, 4500, 60_000, 1, 5, 0),
        rtp_track(1, &ap, 20, 960, 1, 0, 6, 0),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let (rec, mut events) = drive(
        dir.path(),
        vec![h264_spec(), opus_spec()],
        Duration::from_secs(3600),
        &sent,
    );
    events.extend(rec.finish(at_ms(6100)).unwrap());
    let files = files_started(&events);
    assert_eq!(files, vec![PathBuf::from("p-001.mkv")]);
    assert!(events.iter().any(|e| matches!(
        e,
        RecorderEvent::FileStarted {
            container: "matroska",
            ..
        }
    )));
    let path = dir.path().join(&files[0]);
    assert_eq!(
        ffprobe_counts(&path),
        vec![("h264".into(), 120), ("opus".into(), audio.len() as u64)]
    );
    assert_eq!(decode_errors(&path), "");
    let d = demux(&path);
    let got: Vec<_> = d[0].packets.iter().map(|p| p.2.clone()).collect();
    let want: Vec<_> = aus.iter().map(|au| avcc(au)).collect();
    assert!(got == want, "H.264 access units differ");
    check_chunks(dir.path(), &events, &files[0]);
}

#[test]
fn audio_only_participant_gets_a_webm_with_one_opus_track() {
    let fx = fixtures();
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    let ap = opus_payloads(&audio);
    let sent = rtp_track(0, &ap, 20, 960, 100, 0, 9, 0);
    let dir = tempfile::tempdir().unwrap();
    let (rec, mut events) = drive(
        dir.path(),
        vec![opus_spec()],
        Duration::from_secs(3600),
        &sent,
    );
    events.extend(rec.finish(at_ms(6100)).unwrap());
    let files = files_started(&events);
    assert_eq!(files, vec![PathBuf::from("p-001.webm")]);
    let path = dir.path().join(&files[0]);
    assert_eq!(
        ffprobe_counts(&path),
        vec![("opus".into(), audio.len() as u64)]
    );
    assert_eq!(decode_errors(&path), "");
    let d = demux(&path);
    assert!(
        d[0].packets
            .iter()
            .map(|p| p.2.clone())
            .eq(audio.iter().cloned())
    );
    check_chunks(dir.path(), &events, &files[0]);
}

#[test]
fn unwritable_file_degrades_then_resumes_into_a_new_file() {
    let fx = fixtures();
    let video = read_ivf(&fx.join("video.ivf"));
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    let dir = tempfile::tempdir().unwrap();
    // Someone else's file already has the first name: the recorder must not touch it.
    std::fs::write(dir.path().join("p-001.webm"), b"not ours").unwrap();
    let (rec, mut events) = drive(
        dir.path(),
        vec![vp8_spec(), opus_spec()],
        Duration::from_secs(3600),
        &vp8_av(&video, &audio),
    );
    events.extend(rec.finish(at_ms(6100)).unwrap());
    assert_eq!(
        std::fs::read(dir.path().join("p-001.webm")).unwrap(),
        b"not ours"
    );
    let degraded = events
        .iter()
        .position(|e| matches!(e, RecorderEvent::Degraded { .. }))
        .expect("degraded");
    let resumed = events
        .iter()
        .position(
            |e| matches!(e, RecorderEvent::Resumed { file } if file == Path::new("p-002.webm")),
        )
        .expect("resumed");
    assert!(degraded < resumed);
    let path = dir.path().join("p-002.webm");
    assert_eq!(decode_errors(&path), "");
    let d = demux(&path);
    // Resumed at the next keyframe (frame 30), the frames before it are reported dropped.
    assert_eq!(d[0].packets[0].2, video[30]);
    assert!(
        d[0].packets
            .iter()
            .map(|p| p.2.clone())
            .eq(video[30..].iter().cloned())
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RecorderEvent::Gap { track: 0, .. }))
    );
    check_chunks(dir.path(), &events, Path::new("p-002.webm"));
}

#[test]
fn file_on_disk_without_finish_is_a_playable_prefix() {
    let fx = fixtures();
    let video = read_ivf(&fx.join("video.ivf"));
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    let dir = tempfile::tempdir().unwrap();
    // 4.3 s of media, then the process "dies": copy the file as it is.
    let sent: Vec<_> = vp8_av(&video, &audio)
        .into_iter()
        .filter(|s| s.pkt.arrival <= at_ms(4300))
        .collect();
    let (rec, events) = drive(
        dir.path(),
        vec![vp8_spec(), opus_spec()],
        Duration::from_secs(3600),
        &sent,
    );
    let copy = dir.path().join("copy.webm");
    std::fs::copy(dir.path().join("p-001.webm"), &copy).unwrap();
    std::mem::forget(rec); // no trailer, no close: what kill -9 leaves
    assert_eq!(decode_errors(&copy), "");
    let last = last_pts_ms(&copy);
    assert!(last[0] >= 4300.0 - 1500.0, "video ends at {} ms", last[0]);
    assert!(last[1] >= 4300.0 - 1500.0, "audio ends at {} ms", last[1]);
    // Every reported chunk is in the copy unchanged.
    let bytes = std::fs::read(&copy).unwrap();
    for e in &events {
        if let RecorderEvent::Chunk {
            offset,
            length,
            sha256: h,
            ..
        } = e
        {
            let end = (offset + length) as usize;
            assert!(end <= bytes.len());
            assert_eq!(*h, sha256(&bytes[*offset as usize..end]));
        }
    }
}

#[test]
fn video_only_participant_gets_a_webm_with_one_vp8_track() {
    let fx = fixtures();
    let video = read_ivf(&fx.join("video.ivf"));
    let vp = vp8_payloads(&video);
    let sent = rtp_track(0, &vp, 50, 4500, 1, 0, 1, 0);
    let dir = tempfile::tempdir().unwrap();
    let (rec, mut events) = drive(
        dir.path(),
        vec![vp8_spec()],
        Duration::from_secs(3600),
        &sent,
    );
    events.extend(rec.finish(at_ms(6100)).unwrap());
    let files = files_started(&events);
    let path = dir.path().join(&files[0]);
    assert_eq!(ffprobe_counts(&path), vec![("vp8".into(), 120)]);
    assert_eq!(decode_errors(&path), "");
    assert!(
        demux(&path)[0]
            .packets
            .iter()
            .map(|p| p.2.clone())
            .eq(video.iter().cloned())
    );
    check_chunks(dir.path(), &events, &files[0]);
}

#[test]
fn camera_starting_late_gets_a_new_file_with_both_tracks() {
    let fx = fixtures();
    let video = read_ivf(&fx.join("video.ivf"));
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    // Audio from 0 s; the camera's first frame (a keyframe) arrives at 5.5 s.
    let vp = vp8_payloads(&video[..10]);
    let ap = opus_payloads(&audio);
    let sent = merge(vec![
        rtp_track(0, &vp, 50, 4500, 1, 0, 1, 5500),
        rtp_track(1, &ap, 20, 960, 1, 0, 2, 0),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let (rec, mut events) = drive(
        dir.path(),
        vec![vp8_spec(), opus_spec()],
        Duration::from_secs(3600),
        &sent,
    );
    events.extend(rec.finish(at_ms(6100)).unwrap());
    let files = files_started(&events);
    assert_eq!(
        files,
        vec![PathBuf::from("p-001.webm"), PathBuf::from("p-002.webm")]
    );
    let first = dir.path().join(&files[0]);
    let second = dir.path().join(&files[1]);
    // The camera's first packets are held for the reorder window (200 ms) before the
    // switch, so file 1 holds the audio up to 5.5 s plus at most that window.
    let c1 = ffprobe_counts(&first);
    assert_eq!(c1.len(), 1);
    assert_eq!(c1[0].0, "opus");
    let n1 = c1[0].1;
    assert!((275..=275 + 12).contains(&n1), "file 1 audio frames {n1}");
    assert_eq!(
        ffprobe_counts(&second),
        vec![("vp8".into(), 10), ("opus".into(), audio.len() as u64 - n1)]
    );
    for f in &files {
        assert_eq!(decode_errors(&dir.path().join(f)), "");
        check_chunks(dir.path(), &events, f);
    }
    let d = demux(&second);
    assert!(
        d[0].packets
            .iter()
            .map(|p| p.2.clone())
            .eq(video[..10].iter().cloned())
    );
    let mut all_a: Vec<_> = demux(&first)[0]
        .packets
        .iter()
        .map(|p| p.2.clone())
        .collect();
    all_a.extend(d[1].packets.iter().map(|p| p.2.clone()));
    assert!(all_a == audio, "every audio frame in exactly one file");
}

#[test]
fn a_pause_in_the_stream_is_reported_as_silence_once() {
    let fx = fixtures();
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    // 2 s of audio, a 3 s pause (muted), then 1 s more.
    let ap = opus_payloads(&audio);
    let mut sent = rtp_track(0, &ap[..100], 20, 960, 1, 0, 9, 0);
    sent.extend(rtp_track(
        0,
        &ap[100..150],
        20,
        960,
        101,
        96_000 + 144_000,
        9,
        5_000,
    ));
    let dir = tempfile::tempdir().unwrap();
    let (rec, mut events) = drive(
        dir.path(),
        vec![opus_spec()],
        Duration::from_secs(3600),
        &sent,
    );
    events.extend(rec.finish(at_ms(6_100)).unwrap());
    let silences: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RecorderEvent::Gap {
                kind: sworn::recorder::GapKind::Silence,
                wall,
                media_ms,
                ..
            } => Some((*wall, *media_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(silences.len(), 1, "{silences:?}");
    let (wall, media_ms) = silences[0];
    let at = wall.duration_since(t0()).unwrap().as_millis();
    assert!((3_900..=4_100).contains(&at), "detected at {at} ms");
    assert!(
        (1_960..=1_990).contains(&media_ms),
        "after the last frame: {media_ms}"
    );
    let path = dir.path().join("p-001.webm");
    let d = demux(&path);
    assert_eq!(d[0].packets.len(), 150);
    // RTP time carries the pause into the file: the frame after it is at 5 s.
    assert!(
        (d[0].packets[100].0 - 5_000).abs() <= 1,
        "{}",
        d[0].packets[100].0
    );
}

#[test]
fn h264_fragment_loss_drops_exactly_that_access_unit() {
    let fx = fixtures();
    let aus = read_h264(&fx.join("video.h264"));
    let hp: Vec<_> = aus.iter().map(|au| packetize_h264(au, 600)).collect();
    // a non-IDR access unit split into at least three FU-A fragments
    let victim = (31..59).find(|&i| hp[i].len() >= 3).unwrap();
    let mut sent = rtp_track(0, &hp, 50, 4500, 65_500, u32::MAX - 100_000, 5, 0);
    let lost = sent
        .iter()
        .filter(|s| s.frame == victim)
        .nth(1)
        .unwrap()
        .pkt
        .seq;
    sent.retain(|s| s.pkt.seq != lost);
    // reorder the fragments of the next access unit
    let first = sent.iter().position(|s| s.frame == victim + 1).unwrap();
    sent.swap(first, first + 1);
    let dir = tempfile::tempdir().unwrap();
    let (rec, mut events) = drive(
        dir.path(),
        vec![h264_spec()],
        Duration::from_secs(3600),
        &sent,
    );
    events.extend(rec.finish(at_ms(6_100)).unwrap());
    let path = dir.path().join("p-001.mkv");
    let got: Vec<_> = demux(&path)[0]
        .packets
        .iter()
        .map(|p| p.2.clone())
        .collect();
    let want: Vec<_> = (0..aus.len())
        .filter(|&i| i != victim)
        .map(|i| avcc(&aus[i]))
        .collect();
    assert!(got == want, "only access unit {victim} is missing");
    assert!(events.iter().any(|e| matches!(
        e,
        RecorderEvent::Gap {
            kind: sworn::recorder::GapKind::Loss { packets: 1 },
            ..
        }
    )));
    check_chunks(dir.path(), &events, std::path::Path::new("p-001.mkv"));
}
