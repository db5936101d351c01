//! Join benchmark: N joiners open their invite links at the same moment against an
//! in-process sworn server (loopback only) while the judge's console peer publishes;
//! each joiner times every step from "link opened" (WebSocket connect starts) to the
//! first complete frame of the judge's video. Prints median and p95 per step.
//!
//! Run it through `scripts/bench-join` (release build, loopback-only network namespace).
//! It must never touch a non-loopback address and always stops by itself.

#[cfg(feature = "server")]
#[path = "../../tests/common/mod.rs"]
mod common;
#[cfg(feature = "server")]
mod joiner;
#[cfg(feature = "server")]
mod report;
#[cfg(feature = "server")]
mod run;

#[cfg(feature = "server")]
fn main() -> anyhow::Result<()> {
    // rustls holds two crypto providers (ring; aws-lc-rs through object_store): webrtc-rs's
    // DTLS asks for the process default, so one is chosen here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    use clap::Parser;
    let args = run::Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run::run(args))
}

#[cfg(not(feature = "server"))]
fn main() {
    eprintln!("bench_join needs the `server` feature");
    std::process::exit(2);
}
