use super::*;

const Q: u32 = 11;
const H: u32 = 22;
const F: u32 = 33;

fn ms(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

/// Three layers of a 1280x720 camera: keyframes first, then `secs` seconds of packets
/// at ~150 / 500 / 1500 kbit/s, one tick a second.
fn three_layers(t0: Instant, secs: u64) -> Layers {
    let mut l = Layers::new(t0);
    l.on_packet(Q, 1000, Some((320, 180)), t0);
    l.on_packet(H, 1000, Some((640, 360)), t0);
    l.on_packet(F, 1000, Some((1280, 720)), t0);
    for s in 0..secs {
        for i in 0..50 {
            let at = ms(t0, s * 1000 + i * 20);
            l.on_packet(Q, 375, None, at);
            l.on_packet(H, 1250, None, at);
            l.on_packet(F, 3750, None, at);
        }
        l.tick(ms(t0, (s + 1) * 1000));
    }
    l
}

#[test]
fn layers_are_ranked_by_picture_size_and_measured() {
    let t0 = Instant::now();
    let l = three_layers(t0, 2);
    let now = ms(t0, 2000);
    assert_eq!(l.best(now), Some(F));
    assert_eq!(l.sent(now), (3, Some((1280, 720))));
    let mut out = [(0, 0); MAX_LAYERS];
    assert_eq!(l.ordered(now, &mut out), 3);
    assert_eq!(out.map(|(s, _)| s), [Q, H, F]);
    assert!((140_000..=160_000).contains(&out[0].1), "{out:?}");
    assert!((1_400_000..=1_600_000).contains(&out[2].1), "{out:?}");
    // The top layer stops (the publisher's uplink shrank): it drops out.
    let later = ms(t0, 2000 + 1600);
    let mut l = l;
    l.on_packet(Q, 375, None, later);
    l.on_packet(H, 1250, None, later);
    assert_eq!(l.best(later), Some(H));
    assert_eq!(l.ordered(later, &mut out), 2);
}

#[test]
fn the_recording_settles_on_the_best_layer_and_follows_it_at_keyframes() {
    let t0 = Instant::now();
    let mut l = Layers::new(t0);
    // The first keyframe to arrive is the smallest layer's: not taken before settling.
    l.on_packet(Q, 1000, Some((320, 180)), t0);
    assert!(!l.record(Q, true, t0).take);
    l.on_packet(F, 1000, Some((1280, 720)), ms(t0, 10));
    assert!(!l.record(F, true, ms(t0, 10)).take);
    // Settled: a delta frame of the best layer asks for its keyframe...
    let at = ms(t0, 600);
    l.on_packet(F, 1000, None, at);
    assert_eq!(
        l.record(F, false, at),
        RecordTake {
            take: false,
            ask: Some(F)
        }
    );
    // ...other layers are never recorded, and its keyframe starts the recording.
    l.on_packet(Q, 1000, None, at);
    assert!(!l.record(Q, false, at).take);
    l.on_packet(F, 1000, Some((1280, 720)), at);
    assert!(l.record(F, true, at).take);
    assert_eq!(l.recorded(), Some(F));
    assert!(l.record(F, false, at).take);
    // F stops: Q goes on; the recording asks Q for a keyframe and moves there.
    let later = ms(t0, 2200);
    l.on_packet(Q, 1000, None, later);
    assert_eq!(l.record(Q, false, later).ask, Some(Q));
    l.on_packet(Q, 1000, Some((0, 0)), later);
    assert!(l.record(Q, true, later).take);
    // F comes back: Q goes on being recorded; once F has been sent for 3 s its
    // keyframe is asked for, and the recording moves there.
    l.on_packet(F, 1000, None, ms(t0, 2400));
    assert_eq!(
        l.record(Q, false, ms(t0, 2400)),
        RecordTake {
            take: true,
            ask: None
        }
    );
    let back = ms(t0, 5500);
    for at in (2500..=5500).step_by(100) {
        l.on_packet(Q, 1000, None, ms(t0, at));
        l.on_packet(F, 1000, None, ms(t0, at));
    }
    assert_eq!(
        l.record(Q, false, back),
        RecordTake {
            take: true,
            ask: Some(F)
        }
    );
    assert!(!l.record(F, false, back).take);
    l.on_packet(F, 1000, Some((1280, 720)), back);
    assert!(l.record(F, true, back).take);
    assert!(!l.record(Q, false, back).take);
}

#[test]
fn a_subscriber_changes_layer_only_at_a_keyframe() {
    let mut c = LayerChoice::default();
    // Nothing chosen: the first keyframe of any layer starts the picture.
    assert!(!c.admit(H, false));
    assert!(c.admit(H, true));
    assert!(c.admit(H, false));
    assert!(!c.admit(F, true));
    let layers = [(Q, 150_000), (H, 500_000), (F, 1_500_000)];
    // Down at once: Q's keyframe is asked for, H goes on until it comes.
    assert_eq!(c.choose(&layers, 0), Some(Q));
    assert_eq!(c.waiting(), Some(Q));
    assert!(c.admit(H, false));
    assert!(!c.admit(Q, false));
    assert!(c.admit(Q, true));
    assert_eq!(c.waiting(), None);
    assert!(!c.admit(H, false));
    // Up only when two ticks agree.
    assert_eq!(c.choose(&layers, 2), None);
    assert_eq!(c.choose(&layers, 2), Some(F));
    // A tick that does not agree resets the count.
    let mut c = LayerChoice::default();
    assert_eq!(c.choose(&layers, 0), Some(Q));
    assert!(c.admit(Q, true));
    assert_eq!(c.choose(&layers, 1), None);
    assert_eq!(c.choose(&layers, 0), None);
    assert_eq!(c.choose(&layers, 1), None);
    assert_eq!(c.choose(&layers, 1), Some(H));
}

#[test]
fn the_allocation_fills_the_estimate_in_turns() {
    let a = [(Q, 150_000), (H, 500_000), (F, 1_500_000)];
    let b = [(4, 100_000), (5, 300_000)];
    // Plenty: every line's best.
    let x = allocate(10_000_000, 96_000, &[&a, &b]);
    assert_eq!(x.levels, vec![2, 1]);
    assert_eq!(x.desired_bps, 96_000 + 1_500_000 + 300_000);
    assert_eq!(x.minimum_bps, 96_000 + 1_800_000);
    // 1 Mbit/s: 850 k usable, 96 k audio: both start low (250 k), both move up one
    // step (+350 k, +200 k would be 800 k: too much; a first: 600 k, b: 800 k > 754 k).
    let x = allocate(1_000_000, 96_000, &[&a, &b]);
    assert_eq!(x.levels, vec![1, 0]);
    assert_eq!(x.minimum_bps, 96_000 + 500_000 + 100_000);
    // No estimate yet (the media loop passes a huge one): the best layers, no overflow.
    assert_eq!(allocate(u64::MAX, u64::MAX, &[&a, &b]).levels, vec![0, 0]);
    assert_eq!(allocate(u64::MAX / 4, 96_000, &[&a, &b]).levels, vec![2, 1]);
    // A 420 kbit/s downlink: lowest layers only.
    let x = allocate(420_000, 96_000, &[&a, &b]);
    assert_eq!(x.levels, vec![0, 0]);
    assert!(!x.starved);
    // Under 3/4 of audio and the smallest layers (346 k): starved.
    assert!(allocate(250_000, 96_000, &[&a, &b]).starved);
    assert!(!allocate(270_000, 96_000, &[&a, &b]).starved);
    assert!(!allocate(10_000_000, 96_000, &[&a, &b]).starved);
}
