//! Recorder throughput benchmark (ignored in normal runs; `scripts/bench-record` runs it
//! in release mode): P participants x S seconds of the VP8 + Opus fixture stream, pushed
//! as fast as one thread can, with a tick every 100 ms of media time. Reports CPU cost
//! per packet and per real-time participant, and checks every file decodes.
#![cfg(feature = "media")]

mod recorder_support;

use std::time::{Duration, Instant};

use recorder_support::*;
use sworn::recorder::{ParticipantRecorder, RecorderEvent};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Process CPU time (user + system) from /proc/self/stat, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[test]
#[ignore = "benchmark: run scripts/bench-record"]
fn bench_record() {
    let participants = env_u64("BENCH_PARTICIPANTS", 4) as usize;
    let seconds = env_u64("BENCH_SECONDS", 60);
    let fx = fixtures();
    let video = read_ivf(&fx.join("video.ivf"));
    let audio = read_ogg_opus(&fx.join("audio.ogg"));
    let nv = (seconds * 20) as usize;
    let na = (seconds * 50) as usize;
    let vp: Vec<_> = (0..nv)
        .map(|i| packetize_vp8(&video[i % video.len()], i as u16, 1000))
        .collect();
    let ap: Vec<_> = (0..na)
        .map(|i| vec![audio[i % audio.len()].clone()])
        .collect();
    let sent = merge(vec![
        rtp_track(0, &vp, 50, 4500, 1, 0, 1, 0),
        rtp_track(1, &ap, 20, 960, 1, 0, 2, 0),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut recs: Vec<_> = (0..participants)
        .map(|p| {
            let mut cfg = config(dir.path(), Duration::from_secs(3600));
            cfg.base_name = format!("p{p}");
            ParticipantRecorder::new(cfg, vec![vp8_spec(), opus_spec()], t0()).unwrap()
        })
        .collect();
    let bytes: usize = sent.iter().map(|s| s.pkt.payload.len()).sum();
    let cpu0 = cpu_seconds();
    let wall0 = Instant::now();
    let mut chunks = 0usize;
    let mut next_tick = 100;
    for s in &sent {
        let ms = s.pkt.arrival.duration_since(t0()).unwrap().as_millis() as u64;
        while next_tick <= ms {
            for r in &mut recs {
                chunks += r
                    .tick(at_ms(next_tick))
                    .iter()
                    .filter(|e| matches!(e, RecorderEvent::Chunk { .. }))
                    .count();
            }
            next_tick += 100;
        }
        for r in &mut recs {
            r.push(s.track, s.pkt.clone());
        }
    }
    for r in recs {
        r.finish(at_ms(seconds * 1000 + 1)).unwrap();
    }
    let cpu = cpu_seconds() - cpu0;
    let wall = wall0.elapsed().as_secs_f64();
    let packets = sent.len() * participants;
    let media = (seconds as usize * participants) as f64;
    println!(
        "\nbench-record: {participants} participants x {seconds} s ({:.2} Mbit/s each), {packets} packets, {chunks} chunks",
        bytes as f64 * 8.0 / seconds as f64 / 1e6
    );
    println!(
        "bench-record: cpu {cpu:.2} s, wall {wall:.2} s, {:.2} us cpu/packet, {:.0}x realtime per core, {:.3} % of a core per real-time participant",
        cpu * 1e6 / packets as f64,
        media / cpu.max(1e-9),
        100.0 * cpu / media
    );
    for p in 0..participants {
        let f = dir.path().join(format!("p{p}-001.webm"));
        assert_eq!(decode_errors(&f), "", "{f:?}");
    }
}
