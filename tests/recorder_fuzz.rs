//! Hostile input: random RTP (sequence numbers, timestamps, SSRCs, markers, payloads,
//! arrival jumps) into whole recorders for VP8+Opus and H.264+Opus. Nothing may panic,
//! and whatever file results must tile into its reported chunks.
#![cfg(feature = "media")]

mod recorder_support;

use std::time::Duration;

use proptest::prelude::*;
use recorder_support::*;
use sworn::recorder::{ParticipantRecorder, RecorderEvent, RtpIn};

#[derive(Debug, Clone)]
struct Pkt {
    track: usize,
    seq: u16,
    ts: u32,
    marker: bool,
    ssrc: u32,
    payload: Vec<u8>,
    advance_ms: u64,
}

fn pkt() -> impl Strategy<Value = Pkt> {
    (
        0usize..3,
        any::<u16>(),
        any::<u32>(),
        any::<bool>(),
        0u32..3,
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            // plausible starts: VP8 S bit keyframe header, STAP-A, FU-A, SPS
            Just(vec![
                0x10, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01
            ]),
            Just(vec![0x78, 0, 2, 0x67, 0x42]),
            Just(vec![0x7c, 0x85, 1, 2, 3]),
            Just(vec![0x67, 0x42, 0xc0, 0x16, 0xd9, 0x00, 0xa0, 0x2f, 0xf9]),
        ],
        0u64..400,
    )
        .prop_map(|(track, seq, ts, marker, ssrc, payload, advance_ms)| Pkt {
            track,
            seq,
            ts,
            marker,
            ssrc,
            payload,
            advance_ms,
        })
}

fn run(video: sworn::recorder::TrackSpec, pkts: &[Pkt]) {
    let dir = tempfile::tempdir().unwrap();
    let mut rec = ParticipantRecorder::new(
        config(dir.path(), Duration::from_secs(2)),
        vec![video, opus_spec()],
        t0(),
    )
    .unwrap();
    let mut now = 0;
    let mut events = Vec::new();
    for p in pkts {
        now += p.advance_ms;
        // track 2 does not exist: must be ignored
        events.extend(rec.push(
            p.track,
            RtpIn {
                seq: p.seq,
                timestamp: p.ts,
                marker: p.marker,
                ssrc: p.ssrc,
                payload: p.payload.clone(),
                arrival: at_ms(now),
            },
        ));
        if p.advance_ms > 200 {
            events.extend(rec.tick(at_ms(now)));
        }
    }
    events.extend(rec.finish(at_ms(now + 10_000)).unwrap());
    for f in files_started(&events) {
        check_chunks(dir.path(), &events, &f);
    }
    assert!(
        events
            .iter()
            .filter(|e| matches!(e, RecorderEvent::FileSealed { .. }))
            .count()
            >= files_started(&events).len()
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5302_2026), ..ProptestConfig::default()
    })]

    #[test]
    fn random_rtp_never_panics_vp8(pkts in proptest::collection::vec(pkt(), 0..150)) {
        run(vp8_spec(), &pkts);
    }

    #[test]
    fn random_rtp_never_panics_h264(pkts in proptest::collection::vec(pkt(), 0..150)) {
        run(h264_spec(), &pkts);
    }
}
