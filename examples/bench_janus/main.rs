//! sworn vs Janus 1.1.2, recording, in one run: for each N, the same N webrtc-rs
//! publishers (VP8 + Opus fixtures) publish for T seconds to `sworn serve` (WHIP,
//! bench_record's path) and then to Janus's VideoRoom (HTTP API, `.mjr` recording); the
//! server's CPU and RSS per recorded participant come from /proc/<pid> over the same
//! window. Prints both side by side and the ratio sworn/Janus (target <= 0.5).
//!
//! Run it through `scripts/bench-vs-janus` (release build, Janus's config dir, a network
//! namespace with no route out). It always stops by itself.

#[cfg(feature = "server")]
#[allow(dead_code)]
#[path = "../bench_record/feed.rs"]
mod feed;
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

#[cfg(feature = "server")]
#[derive(clap::Parser, Debug)]
#[command(about = "Server CPU/RSS per recorded participant: sworn vs Janus 1.1.2")]
struct Args {
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
        "bench-vs-janus: N={} publishers (VP8 640x360 20 fps ~600 kbit/s + Opus), window {:.1} s / {:.1} s",
        s.streams,
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

#[cfg(feature = "server")]
fn main() -> anyhow::Result<()> {
    use clap::Parser;
    use std::time::Duration;
    let args = Args::parse();
    anyhow::ensure!(
        args.participants.iter().all(|n| (1..=32).contains(n))
            && !args.participants.is_empty()
            && (1..=600).contains(&args.seconds),
        "--participants must be a list of 1..=32 and --seconds 1..=600"
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
    let mut summary = Vec::new();
    for (k, &n) in args.participants.iter().enumerate() {
        let dir = work.path().join(format!("n{n}-{k}"));
        std::fs::create_dir_all(&dir)?;
        eprintln!("bench-vs-janus: N={n}: sworn");
        let s = rt.block_on(sfu::run(sfu::SfuArgs {
            bin: &args.sworn,
            work: &dir,
            port: 18480 + k as u16,
            publishers: n,
            ingest: sfu::Ingest::Whip,
            warmup,
            window,
            media: &media,
        }))?;
        eprintln!("bench-vs-janus: N={n}: Janus");
        let j = rt.block_on(janus::run(janus::JanusArgs {
            bin: &args.janus,
            config: &args.janus_config,
            port: args.janus_port,
            rec: &args.janus_rec,
            ip: args.janus_ip,
            client_ip: args.client_ip,
            work: &dir,
            publishers: n,
            warmup,
            window,
            media: &media,
        }));
        let (j, note) = match j {
            Ok(j) => j,
            Err(e) => {
                let log = std::fs::read_to_string(dir.join("janus.log")).unwrap_or_default();
                let keep = std::env::temp_dir().join("bench-vs-janus-janus.log");
                let _ = std::fs::write(&keep, &log);
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                eprintln!(
                    "Janus log (last lines, newest first; all of it in {}):\n{}",
                    keep.display(),
                    tail.join("\n")
                );
                return Err(e);
            }
        };
        print(&s, &j, &note);
        summary.push((n, s, j));
    }
    println!();
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
