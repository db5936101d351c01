//! The recorder thread learns a participant's tracks from the first packets; a camera
//! that starts after that (slow camera permission on a phone) must still be recorded.

use super::*;
use std::sync::Arc;

fn rtp(kind: MediaKind, seq: u16, ts: u32, payload: Vec<u8>) -> RecordItem {
    let (mime, clock_rate, channels, ssrc) = match kind {
        MediaKind::Audio => ("audio/opus", 48_000, 2, 11),
        MediaKind::Video => ("video/VP8", 90_000, 0, 22),
    };
    RecordItem::Rtp(RtpRecord {
        kind,
        mime_type: Arc::from(mime),
        clock_rate,
        channels,
        seq,
        timestamp: ts,
        marker: true,
        ssrc,
        payload: Arc::from(payload),
        arrival: SystemTime::now(),
    })
}

/// One-packet VP8 frame: payload descriptor (start of partition), then a frame tag
/// with the keyframe start code and a 64x48 size (the muxer never decodes it).
fn vp8(key: bool) -> Vec<u8> {
    if key {
        vec![
            0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 64, 0, 48, 0, 1, 2, 3,
        ]
    } else {
        vec![0x10, 0x01, 0x00, 0x00, 4, 5, 6, 7]
    }
}

fn next_report(rx: &mut tokio::sync::mpsc::UnboundedReceiver<RecorderReport>) -> RecorderReport {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = rx.try_recv() {
            return r;
        }
        assert!(Instant::now() < until, "the recorder thread went quiet");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_camera_starting_after_the_tracks_were_learned_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let pid = ParticipantId::from_trusted("ab".repeat(16));
    let settings = RecorderSettings {
        dir: dir.path().to_path_buf(),
        base_name: "w".into(),
        rotate_after: Duration::from_secs(3600),
    };
    let sink = start(pid, settings, tx).unwrap();
    // Audio alone until the recorder has opened its first file (audio only).
    let mut seq = 0u16;
    let audio = |sink: &SyncSender<RecordItem>, seq: &mut u16| {
        *seq = seq.wrapping_add(1);
        let ts = u32::from(*seq) * 960;
        sink.send(rtp(MediaKind::Audio, *seq, ts, vec![0xfc, 1, 2, 3]))
            .unwrap();
    };
    let mut started = Vec::new();
    while started.is_empty() {
        audio(&sink, &mut seq);
        std::thread::sleep(Duration::from_millis(20));
        while let Ok(r) = rx.try_recv() {
            if let RecorderReport::Event {
                event: RecorderEvent::FileStarted { file, .. },
                ..
            } = r
            {
                started.push(file);
            }
        }
    }
    // Then the camera: a keyframe and more frames, with the audio going on.
    for i in 0..40u16 {
        let v = rtp(MediaKind::Video, i + 1, u32::from(i) * 3000, vp8(i == 0));
        sink.send(v).unwrap();
        audio(&sink, &mut seq);
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(sink);
    loop {
        match next_report(&mut rx) {
            RecorderReport::Event {
                event: RecorderEvent::FileStarted { file, .. },
                ..
            } => started.push(file),
            RecorderReport::Done { .. } => break,
            RecorderReport::Failed { reason, .. } => panic!("recorder failed: {reason}"),
            RecorderReport::Event { .. } => {}
        }
    }
    assert_eq!(
        started.len(),
        2,
        "a second file for the camera: {started:?}"
    );
    let streams = |f: &PathBuf| {
        let input = ffmpeg_next::format::input(&dir.path().join(f)).unwrap();
        let mut kinds: Vec<_> = input
            .streams()
            .map(|s| format!("{:?}", s.parameters().medium()))
            .collect();
        kinds.sort();
        kinds
    };
    assert_eq!(streams(&started[0]), ["Audio"]);
    assert_eq!(streams(&started[1]), ["Audio", "Video"]);
}
