//! A track the recorder did not know when it started (the camera switched on seconds
//! after the microphone, or the reverse) is added to it and recorded from the next file:
//! nothing of the first track is lost, and the new track is never silently dropped.
#![cfg(feature = "media")]

mod recorder_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use recorder_support::*;
use sworn::recorder::{ParticipantRecorder, RecorderEvent, TrackSpec};

/// Starts the recorder with `first` only; `later` is added when its first packet (which
/// carries track index 1) arrives. Ticks every 100 ms, then finishes at `end_ms`.
fn drive_with_late_track(
    dir: &Path,
    first: TrackSpec,
    later: TrackSpec,
    sent: &[Sent],
    end_ms: u64,
) -> Vec<RecorderEvent> {
    let mut rec =
        ParticipantRecorder::new(config(dir, Duration::from_secs(3600)), vec![first], t0())
            .unwrap();
    let mut later = Some(later);
    let mut events = Vec::new();
    let mut next_tick = 100;
    for s in sent {
        let ms = s.pkt.arrival.duration_since(t0()).unwrap().as_millis() as u64;
        while next_tick <= ms {
            events.extend(rec.tick(at_ms(next_tick)));
            next_tick += 100;
        }
        if s.track == 1 {
            if let Some(spec) = later.take() {
                assert_eq!(rec.add_track(spec).unwrap(), 1);
            }
        }
        events.extend(rec.push(s.track, s.pkt.clone()));
    }
    events.extend(rec.finish(at_ms(end_ms)).unwrap());
    events
}

#[test]
fn a_camera_added_after_the_file_opened_gets_a_new_file_with_both_tracks() {
    let fx = fixtures();
    let video = read_ivf(&fx.join("video.ivf"));
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    // Audio from 0 s alone (the recorder knows no video); the camera from 3 s.
    let ap = opus_payloads(&audio);
    let vp = vp8_payloads(&video[..20]);
    let sent = merge(vec![
        rtp_track(0, &ap, 20, 960, 1, 0, 2, 0),
        rtp_track(1, &vp, 50, 4500, 1, 0, 1, 3000),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let events = drive_with_late_track(dir.path(), opus_spec(), vp8_spec(), &sent, 6100);
    let files = files_started(&events);
    assert_eq!(
        files,
        vec![PathBuf::from("p-001.webm"), PathBuf::from("p-002.webm")]
    );
    let c1 = ffprobe_counts(&dir.path().join(&files[0]));
    assert_eq!(c1.len(), 1, "file 1 is the audio alone: {c1:?}");
    assert_eq!(c1[0].0, "opus");
    let c2 = ffprobe_counts(&dir.path().join(&files[1]));
    assert_eq!(
        c2,
        vec![
            ("opus".into(), audio.len() as u64 - c1[0].1),
            ("vp8".into(), 20)
        ]
    );
    for f in &files {
        assert_eq!(decode_errors(&dir.path().join(f)), "");
        check_chunks(dir.path(), &events, f);
    }
}

#[test]
fn a_microphone_added_to_a_video_file_is_held_until_the_keyframe_it_asks_for() {
    let fx = fixtures();
    let video = read_ivf(&fx.join("video.ivf"));
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    // Video from 0 s alone; the microphone from 2 s. The fixture has a keyframe every
    // 1.5 s, so the new file starts at the one at 3.0 s.
    let vp = vp8_payloads(&video);
    let ap = opus_payloads(&audio);
    let sent = merge(vec![
        rtp_track(0, &vp, 50, 4500, 1, 0, 1, 0),
        rtp_track(1, &ap[..150], 20, 960, 1, 0, 2, 2000),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let events = drive_with_late_track(dir.path(), vp8_spec(), opus_spec(), &sent, 6100);
    let files = files_started(&events);
    assert_eq!(
        files,
        vec![PathBuf::from("p-001.webm"), PathBuf::from("p-002.webm")]
    );
    // The microphone's arrival asked for a keyframe before the switch.
    let second = events
        .iter()
        .position(|e| matches!(e, RecorderEvent::FileStarted { file, .. } if file == &files[1]))
        .unwrap();
    assert!(
        events[..second]
            .iter()
            .any(|e| matches!(e, RecorderEvent::NeedKeyframe { track: 0 })),
        "a keyframe was asked for"
    );
    let c1 = ffprobe_counts(&dir.path().join(&files[0]));
    assert_eq!(
        c1,
        vec![("vp8".into(), 60)],
        "video up to the keyframe at 3 s"
    );
    let c2 = ffprobe_counts(&dir.path().join(&files[1]));
    assert_eq!(c2[0], ("vp8".into(), video.len() as u64 - 60));
    assert_eq!(c2[1].0, "opus");
    // Audio that came before the switch waited for it in memory: none is lost.
    assert_eq!(
        c2[1],
        ("opus".into(), 150),
        "every audio frame is in file 2"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, RecorderEvent::Gap { .. })),
        "no gap: {events:?}"
    );
    for f in &files {
        assert_eq!(decode_errors(&dir.path().join(f)), "");
        check_chunks(dir.path(), &events, f);
    }
}
