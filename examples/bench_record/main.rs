//! Recording benchmark through the real server: N webrtc-rs publishers (VP8 + Opus
//! fixtures) in one hearing of a `sworn serve` release process for T seconds, then, in
//! the same run, N `ffmpeg -c copy` processes recording the same media sent as plain
//! RTP. Prints server CPU and RSS per recorded participant, frames sent vs frames in the
//! files, side by side with the baseline. `--hearings H` runs H such hearings at once
//! in the one server (`hearings.rs`) and adds a report per hearing: the capacity
//! benchmark, `scripts/bench-capacity`.
//!
//! Run it through `scripts/bench-record` (release build, loopback-only network
//! namespace). It must never send to a non-loopback address and always stops by itself.

#[cfg(feature = "server")]
mod baseline;
#[cfg(feature = "server")]
mod feed;
#[cfg(feature = "server")]
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
#[allow(dead_code)]
#[path = "../../tests/common/peer.rs"]
mod peer;
#[cfg(feature = "server")]
mod procstat;
#[cfg(feature = "server")]
mod report;
#[cfg(feature = "server")]
mod sfu;
#[cfg(feature = "server")]
mod whip;

#[cfg(feature = "server")]
#[derive(clap::Parser, Debug)]
#[command(about = "Server CPU/RSS per recorded participant vs an ffmpeg -c copy baseline")]
struct Args {
    /// The `sworn` binary to measure (release build).
    #[arg(long)]
    sworn: std::path::PathBuf,
    /// Publishers in each hearing (ffmpeg streams in the baseline: all of them).
    #[arg(long, default_value_t = 8)]
    participants: usize,
    /// Concurrent hearings in the one server, each with its own `--participants`
    /// publishers (in the hearing shape each receives only the others of its hearing).
    /// Given, it adds the per-hearing report and a `bench-capacity summary:` line.
    #[arg(long)]
    hearings: Option<usize>,
    /// Measured window, seconds (after the warm-up).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Seconds between the last publisher starting and the window.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Fixtures directory (video.ivf, audio.ogg).
    #[arg(long, default_value = "fixtures-gen")]
    fixtures: std::path::PathBuf,
    /// Skip the ffmpeg baseline.
    #[arg(long)]
    no_baseline: bool,
    /// How publishers join: `whip` (publish only: the server receives and records, the
    /// same work as the baseline) or `hearing` (the join WebSocket: every publisher also
    /// receives the N-1 others, so the server forwards N x (N-1) streams as well).
    #[arg(long, value_enum, default_value_t = sfu::Ingest::Whip)]
    ingest: sfu::Ingest,
}

#[cfg(feature = "server")]
fn main() -> anyhow::Result<()> {
    // rustls holds two crypto providers (ring; aws-lc-rs through object_store): webrtc-rs's
    // DTLS asks for the process default, so one is chosen here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    use clap::Parser;
    use std::time::Duration;
    let args = Args::parse();
    let hearings = args.hearings.unwrap_or(1);
    anyhow::ensure!(
        (1..=128).contains(&args.participants)
            && (1..=64).contains(&hearings)
            && hearings * args.participants <= 256
            && (1..=600).contains(&args.seconds),
        "--participants must be 1..=128, --hearings 1..=64 (at most 256 publishers in all) \
         and --seconds 1..=600"
    );
    let streams = hearings * args.participants;
    // One line per panic instead of a backtrace: the shared test peer unwraps when a
    // renegotiation meets a peer connection being closed at the end.
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
    let sworn = rt.block_on(sfu::run(sfu::SfuArgs {
        bin: &args.sworn,
        work: work.path(),
        port: 18480,
        hearings,
        publishers: args.participants,
        ingest: args.ingest,
        warmup,
        window,
        media: &media,
    }))?;
    let base = if args.no_baseline {
        report::Side::new("ffmpeg (skipped)", streams, window)
    } else {
        rt.block_on(baseline::run(baseline::BaselineArgs {
            work: work.path(),
            first_port: 30000,
            streams,
            warmup,
            window,
            media: &media,
        }))?
    };
    report::print(&sworn, &base);
    if args.hearings.is_some() {
        let ingest = match args.ingest {
            sfu::Ingest::Whip => "whip",
            sfu::Ingest::Hearing => "hearing",
        };
        report::print_hearings(&sworn, args.participants, ingest);
    }
    rt.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}

#[cfg(not(feature = "server"))]
fn main() {
    eprintln!("bench_record needs the `server` feature");
    std::process::exit(2);
}
