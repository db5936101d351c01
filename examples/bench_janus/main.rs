//! sworn vs Janus 1.1.2 in one run, three shapes:
//! - `record`: for each N, the same N webrtc-rs publishers (VP8 + Opus fixtures) publish
//!   for T seconds to `sworn serve` (WHIP, bench_record's path) and then to Janus's
//!   VideoRoom (HTTP API, `.mjr` recording); the server's CPU and RSS per recorded
//!   participant come from /proc/<pid> over the same window. Target sworn/Janus <= 0.5.
//! - `hearing`: the same, but everyone receives everyone: sworn's publishers join the
//!   hearing (the join WebSocket), Janus's also subscribe to the N-1 others; the server's
//!   CPU per forwarded RTP packet (packets the subscribers received in the window).
//!   Targets: sworn <= 0.5x Janus and <= 10 us.
//! - `join`: one publisher, then one receive-only joiner at a time, timed from opening
//!   the link to the publisher's first decodable video frame (see `join.rs`). Target:
//!   sworn's median no worse than Janus's + 10 ms.
//!
//! Run it through `scripts/bench-vs-janus` (release build, Janus's config dir, a network
//! namespace with no route out). It always stops by itself.

#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../bench_record/feed.rs"]
mod feed;
#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../bench_record/hearings.rs"]
mod hearings;
#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../../tests/common/http.rs"]
mod http;
#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../../tests/common/inbox.rs"]
mod inbox;
#[cfg(feature = "server")]
mod janus;
#[cfg(feature = "server")]
mod join;
#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../bench_join/report.rs"]
mod join_report;
#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../bench_join/joiner.rs"]
mod joiner;
#[cfg(feature = "server")]
mod subscribe;
/// bench_join's joiner reaches the test peer as `crate::common::peer`.
#[cfg(feature = "server")]
mod common {
    pub(crate) use super::peer;
}
#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../../tests/common/peer.rs"]
mod peer;
#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../bench_record/procstat.rs"]
mod procstat;
#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../bench_record/report.rs"]
mod report;
#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../bench_record/sfu.rs"]
mod sfu;
#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../bench_record/whip.rs"]
mod whip;

/// What the two servers are compared on.
#[cfg(feature = "server")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Shape {
    /// Publish and record (nothing forwarded): CPU per recorded participant.
    Record,
    /// Publish, record, and everyone receives everyone: CPU per forwarded packet.
    Hearing,
    /// Join latency: link opened -> first decodable video frame.
    Join,
}

#[cfg(feature = "server")]
#[derive(clap::Parser, Debug)]
#[command(about = "sworn vs Janus 1.1.2: recording, a hearing's forwarding, join latency")]
struct Args {
    /// What to compare.
    #[arg(long, value_enum, default_value_t = Shape::Record)]
    shape: Shape,
    /// Joiners, one after the other (`--shape join`).
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Pause between the publisher starting and the first joiner, and between joiners,
    /// ms (`--shape join`).
    #[arg(long, default_value_t = 1000)]
    settle_ms: u64,
    /// The `sworn` binary to measure (release build).
    #[arg(long)]
    sworn: std::path::PathBuf,
    /// The `janus` binary.
    #[arg(long, default_value = "/usr/bin/janus")]
    janus: std::path::PathBuf,
    /// janus.jcfg of the config dir `scripts/bench-vs-janus` made.
    #[arg(long)]
    janus_config: std::path::PathBuf,
    /// Janus's HTTP transport port (on 127.0.0.1).
    #[arg(long, default_value_t = 18088)]
    janus_port: u16,
    /// The recording room's rec_dir.
    #[arg(long)]
    janus_rec: std::path::PathBuf,
    /// Janus's ICE address (libnice skips loopback: a veth end inside the namespace).
    #[arg(long, default_value = "10.77.0.1")]
    janus_ip: std::net::IpAddr,
    /// The publishers' address towards Janus (the other veth end).
    #[arg(long, default_value = "10.77.0.2")]
    client_ip: std::net::IpAddr,
    /// Publisher counts, one run of each server per count.
    #[arg(long, value_delimiter = ',', default_value = "1,4,8")]
    participants: Vec<usize>,
    /// Measured window, seconds (after the warm-up).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Seconds between the last publisher starting and the window.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Fixtures directory (video.ivf, audio.ogg).
    #[arg(long, default_value = "fixtures-gen")]
    fixtures: std::path::PathBuf,
}

#[cfg(feature = "server")]
fn row(name: &str, a: String, b: String) {
    println!("{name:<40} {a:>26} {b:>26}");
}

#[cfg(feature = "server")]
fn print(s: &report::Side, j: &report::Side, note: &str) {
    println!();
    println!(
        "bench-vs-janus: N={} publishers (VP8 640x360 20 fps ~600 kbit/s + Opus){}, window {:.1} s / {:.1} s",
        s.streams,
        if s.forwarded_packets > 0 {
            ", each receiving the N-1 others"
        } else {
            ""
        },
        s.window.as_secs_f64(),
        j.window.as_secs_f64()
    );
    println!("left: {}; right: {}", s.label, j.label);
    row("", "sworn serve".into(), "Janus 1.1.2".into());
    row(
        "CPU per participant, % of one core",
        format!("{:.3}", s.core_pct_per_stream()),
        format!("{:.3}", j.core_pct_per_stream()),
    );
    row(
        "CPU in window, s (all)",
        format!("{:.2}", s.cpu_total),
        format!("{:.2}", j.cpu_total),
    );
    row(
        "RSS growth per participant, MiB",
        format!("{:.1}", s.rss_per_stream_kib / 1024.0),
        format!("{:.1}", j.rss_per_stream_kib / 1024.0),
    );
    row(
        "video frames sent / in files",
        format!("{} / {}", s.video_frames_sent, s.video_frames_file),
        format!("{} / {}", j.video_frames_sent, j.video_frames_file),
    );
    row(
        "audio frames sent / in files",
        format!("{} / {}", s.audio_frames_sent, s.audio_frames_file),
        if j.audio_frames_file == 0 {
            // janus-pp-rec missing or failing (its warnings say why).
            format!("{} / not converted", j.audio_frames_sent)
        } else {
            format!("{} / {}", j.audio_frames_sent, j.audio_frames_file)
        },
    );
    row(
        "RTP packets sent",
        s.packets_sent.to_string(),
        j.packets_sent.to_string(),
    );
    if s.forwarded_packets + j.forwarded_packets > 0 {
        row(
            "RTP forwarded in window (of which video)",
            format!("{} ({})", s.forwarded_packets, s.forwarded_video),
            format!("{} ({})", j.forwarded_packets, j.forwarded_video),
        );
        let us = |x: &report::Side| {
            x.us_per_forwarded()
                .map_or("-".into(), |u| format!("{u:.2}"))
        };
        row("server CPU per forwarded packet, µs", us(s), us(j));
    }
    row(
        "keyframes sent early on PLI/FIR",
        s.keyframes_on_request.to_string(),
        j.keyframes_on_request.to_string(),
    );
    let rr = |x: &report::Side| {
        if x.rr_received == 0 && x.rr_lost == 0 {
            "not reported".to_owned()
        } else {
            format!("{} / {}", x.rr_received, x.rr_lost)
        }
    };
    row("RTP received / lost (server RTCP RR)", rr(s), rr(j));
    row("files", s.files.to_string(), j.files.to_string());
    println!("  sworn RSS: {}", s.rss_note);
    println!("  Janus RSS: {}", j.rss_note);
    println!("  Janus {note}");
    for g in &s.gaps {
        println!("  sworn gap: {g}");
    }
}

/// The Janus side's arguments for one run.
#[cfg(feature = "server")]
fn janus_args<'a>(
    args: &'a Args,
    dir: &'a std::path::Path,
    publishers: usize,
    media: &'a feed::Media,
) -> janus::JanusArgs<'a> {
    janus::JanusArgs {
        bin: &args.janus,
        config: &args.janus_config,
        port: args.janus_port,
        rec: &args.janus_rec,
        ip: args.janus_ip,
        client_ip: args.client_ip,
        work: dir,
        publishers,
        subscribe: args.shape == Shape::Hearing,
        warmup: std::time::Duration::from_secs(args.warmup),
        window: std::time::Duration::from_secs(args.seconds),
        media,
    }
}

/// A failed Janus side: its log kept in $TMPDIR and its last lines printed.
#[cfg(feature = "server")]
fn keep_janus_log(dir: &std::path::Path) {
    let log = std::fs::read_to_string(dir.join("janus.log")).unwrap_or_default();
    let keep = std::env::temp_dir().join("bench-vs-janus-janus.log");
    let _ = std::fs::write(&keep, &log);
    let tail: Vec<&str> = log.lines().rev().take(30).collect();
    eprintln!(
        "Janus log (last lines, newest first; all of it in {}):\n{}",
        keep.display(),
        tail.join("\n")
    );
}

#[cfg(feature = "server")]
fn print_join(s: &join::Joins, j: &join::Joins, rounds: usize) {
    use joiner::Step;
    use std::time::Duration;
    println!();
    println!(
        "bench-vs-janus join: {rounds} receive-only joiners one at a time, one publisher (answers PLI/FIR with a keyframe); ms from the joiner's first request"
    );
    println!("sworn serve (invite link WebSocket; `admitted` = server says admitted):");
    join_report::print(&s.samples);
    println!(
        "Janus 1.1.2 VideoRoom (HTTP API; `websocket open` = session created, `admitted` = Janus's subscriber offer received):"
    );
    join_report::print(&j.samples);
    // Median over the joiners of `to - from` (from the link when `from` is None), ms.
    let median = |x: &join::Joins, from: Option<Step>, to: Step| {
        let at = |r: &Vec<Option<Duration>>, s: Step| r.get(s as usize).copied().flatten();
        let mut v: Vec<f64> = x
            .samples
            .iter()
            .filter_map(|r| {
                let start = match from {
                    Some(f) => at(r, f)?,
                    None => Duration::ZERO,
                };
                Some(at(r, to)?.checked_sub(start)?.as_secs_f64() * 1000.0)
            })
            .collect();
        v.sort_by(f64::total_cmp);
        join_report::percentile(&v, 50.0).unwrap_or(f64::NAN)
    };
    let (sk, jk) = (
        median(s, None, Step::FirstKeyframe),
        median(j, None, Step::FirstKeyframe),
    );
    println!(
        "bench-vs-janus join summary: sworn_first_rtp_median_ms={:.1} janus_first_rtp_median_ms={:.1} \
         sworn_keyframe_median_ms={sk:.1} janus_keyframe_median_ms={jk:.1} diff_ms={:.1} \
         sworn_ice_median_ms={:.1} janus_ice_median_ms={:.1} \
         sworn_dtls_to_keyframe_median_ms={:.1} janus_dtls_to_keyframe_median_ms={:.1} \
         sworn_failures={} janus_failures={} target={}",
        median(s, None, Step::FirstRtp),
        median(j, None, Step::FirstRtp),
        sk - jk,
        median(s, None, Step::IceConnected),
        median(j, None, Step::IceConnected),
        median(s, Some(Step::PcConnected), Step::FirstKeyframe),
        median(j, Some(Step::PcConnected), Step::FirstKeyframe),
        s.failures,
        j.failures,
        if sk <= jk + 10.0 { "met" } else { "missed" },
    );
}

#[cfg(feature = "server")]
fn main() -> anyhow::Result<()> {
    // rustls holds two crypto providers (ring; aws-lc-rs through object_store): webrtc-rs's
    // DTLS asks for the process default, so one is chosen here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    use clap::Parser;
    use std::time::Duration;
    let args = Args::parse();
    anyhow::ensure!(
        args.participants.iter().all(|n| (1..=32).contains(n))
            && !args.participants.is_empty()
            && (1..=600).contains(&args.seconds)
            && (1..=500).contains(&args.rounds),
        "--participants must be a list of 1..=32, --seconds 1..=600 and --rounds 1..=500"
    );
    std::panic::set_hook(Box::new(|info| {
        eprintln!("panic in a task: {}", info.to_string().replace('\n', " "))
    }));
    let media = feed::Media::load(&args.fixtures)?;
    let work = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let window = Duration::from_secs(args.seconds);
    let warmup = Duration::from_secs(args.warmup);
    if args.shape == Shape::Join {
        let dir = work.path().join("join");
        std::fs::create_dir_all(&dir)?;
        let (deadline, settle) = (
            Duration::from_secs(20),
            Duration::from_millis(args.settle_ms),
        );
        eprintln!("bench-vs-janus: join: sworn");
        let s = rt.block_on(join::sworn(join::SwornJoin {
            bin: &args.sworn,
            work: &dir,
            port: 18470,
            rounds: args.rounds,
            deadline,
            settle,
            media: &media,
        }))?;
        eprintln!("bench-vs-janus: join: Janus");
        let j = rt.block_on(join::janus(
            &janus_args(&args, &dir, 1, &media),
            args.rounds,
            deadline,
            settle,
        ));
        let j = j.inspect_err(|_| keep_janus_log(&dir))?;
        print_join(&s, &j, args.rounds);
        rt.shutdown_timeout(Duration::from_secs(2));
        return Ok(());
    }
    let mut summary = Vec::new();
    for (k, &n) in args.participants.iter().enumerate() {
        let dir = work.path().join(format!("n{n}-{k}"));
        std::fs::create_dir_all(&dir)?;
        eprintln!("bench-vs-janus: N={n}: sworn");
        let s = rt.block_on(sfu::run(sfu::SfuArgs {
            bin: &args.sworn,
            work: &dir,
            port: 18480 + k as u16,
            hearings: 1,
            publishers: n,
            ingest: match args.shape {
                Shape::Hearing => sfu::Ingest::Hearing,
                _ => sfu::Ingest::Whip,
            },
            warmup,
            window,
            media: &media,
        }))?;
        eprintln!("bench-vs-janus: N={n}: Janus");
        let (j, note) = rt
            .block_on(janus::run(janus_args(&args, &dir, n, &media)))
            .inspect_err(|_| keep_janus_log(&dir))?;
        print(&s, &j, &note);
        summary.push((n, s, j));
    }
    println!();
    if args.shape == Shape::Hearing {
        println!(
            "bench-vs-janus hearing summary (server CPU per forwarded RTP packet, µs; targets: sworn/Janus <= 0.5 and sworn <= 10 µs):"
        );
        for (n, s, j) in &summary {
            let (su, ju) = (
                s.us_per_forwarded().unwrap_or(f64::NAN),
                j.us_per_forwarded().unwrap_or(f64::NAN),
            );
            let ratio = su / ju;
            println!(
                "  n={n} sworn_us={su:.2} janus_us={ju:.2} ratio={ratio:.2} sworn_fwd={} janus_fwd={} \
                 sworn_core_pct={:.2} janus_core_pct={:.2} sworn_frames_lost={} janus_frames_lost={} \
                 target_ratio={} target_10us={}",
                s.forwarded_packets,
                j.forwarded_packets,
                100.0 * s.cpu_total / s.window.as_secs_f64(),
                100.0 * j.cpu_total / j.window.as_secs_f64(),
                s.frames_lost(),
                j.frames_lost(),
                if ratio <= 0.5 { "met" } else { "missed" },
                if su <= 10.0 { "met" } else { "missed" },
            );
        }
        rt.shutdown_timeout(Duration::from_secs(2));
        return Ok(());
    }
    println!(
        "bench-vs-janus summary (% of one core per recorded participant; target sworn/Janus <= 0.5):"
    );
    for (n, s, j) in &summary {
        let ratio = s.core_pct_per_stream() / j.core_pct_per_stream().max(1e-9);
        println!(
            "  n={n} sworn={:.3} janus={:.3} ratio={ratio:.2} sworn_rss_mib={:.1} janus_rss_mib={:.1} \
             sworn_frames_lost={} janus_frames_lost={} target={}",
            s.core_pct_per_stream(),
            j.core_pct_per_stream(),
            s.rss_per_stream_kib / 1024.0,
            j.rss_per_stream_kib / 1024.0,
            s.frames_lost(),
            j.frames_lost(),
            if ratio <= 0.5 { "met" } else { "missed" },
        );
    }
    rt.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}

#[cfg(not(feature = "server"))]
fn main() {
    eprintln!("bench_janus needs the `server` feature");
    std::process::exit(2);
}
