//! Drives the benchmark: an in-process server, the judge's console peer publishing, and
//! rounds of N joiners opening their links at once. Everything has a deadline; the
//! server and every peer are closed before it returns.

use crate::common::TestServer;
use crate::common::peer::{Peer, client_api};
use crate::joiner::{self, Joined, STEPS};
use crate::report::{self, Samples};
use anyhow::{Context, bail};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use sworn::domain::{HearingId, StaffRole};
use tokio::sync::Barrier;

#[derive(clap::Parser, Debug)]
#[command(about = "Time from opening an invite link to the first remote video frame")]
pub struct Args {
    /// Joiners that open their links at the same moment.
    #[arg(long, default_value_t = 10)]
    pub joiners: usize,
    /// Rounds (fresh joiners each round; samples are pooled).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Per-joiner limit for reaching the judge's first keyframe.
    #[arg(long, default_value_t = 20)]
    pub timeout_secs: u64,
    /// The joiners' ICE wait before nominating a peer-reflexive pair (webrtc-rs default
    /// 1000; browsers do not wait).
    #[arg(long, default_value_t = 0)]
    pub prflx_wait_ms: u64,
    /// Joiners only receive (no camera/microphone of their own).
    #[arg(long)]
    pub receive_only: bool,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.joiners == 0 || args.joiners > 64 || args.rounds == 0 {
        bail!("--joiners must be 1..=64 and --rounds at least 1");
    }
    let started = Instant::now();
    // One line per panic instead of a backtrace: the shared test peer unwraps when a
    // renegotiation meets a peer connection being closed at the end of a round. A
    // joiner that panics before its last step is counted as failed.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "panic in a peer task: {}",
            info.to_string().replace('\n', " ")
        )
    }));
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let hid = HearingId::parse(&h).context("hearing id")?;
    judge
        .post(&format!("/api/hearings/{h}/open"), json!({}))
        .await;

    let api = Arc::new(client_api());
    let joiner_api = Arc::new(joiner::joiner_api(
        Duration::from_millis(args.prflx_wait_ms),
        None,
    )?);
    let mut console = Peer::connect(
        &api,
        &server.ws_url(&format!("/ws/hearings/{h}")),
        judge.cookie.as_deref(),
    )
    .await;
    let welcome = console.wait_type("welcome").await;
    let judge_pid = welcome["participant"]["id"]
        .as_str()
        .context("judge participant id")?
        .to_owned();
    console.wait_type("admitted").await;
    console.publish().await;
    console.wait_type("answer").await;

    println!(
        "bench-join: {} joiner(s) x {} round(s), joiners {}, prflx wait {} ms, in-process server, loopback only",
        args.joiners,
        args.rounds,
        if args.receive_only {
            "receive only"
        } else {
            "publish VP8+Opus and receive"
        },
        args.prflx_wait_ms,
    );
    let mut samples: Samples = Vec::new();
    let mut failures = 0;
    for round in 0..args.rounds {
        let mut urls = Vec::new();
        for i in 0..args.joiners {
            let (pid, token) = judge
                .invite(&h, &format!("Joiner {round}-{i}"), "witness")
                .await;
            judge
                .post(
                    &format!("/api/hearings/{h}/participants/{pid}/admit"),
                    json!({}),
                )
                .await;
            urls.push(server.ws_url(&format!("/ws/join/{token}")));
        }
        let cpu0 = cpu_seconds();
        let barrier = Arc::new(Barrier::new(args.joiners));
        let deadline = Duration::from_secs(args.timeout_secs);
        let tasks: Vec<_> = urls
            .into_iter()
            .map(|url| {
                let (api, judge_pid, barrier) =
                    (joiner_api.clone(), judge_pid.clone(), barrier.clone());
                let publish = !args.receive_only;
                tokio::spawn(async move {
                    barrier.wait().await;
                    joiner::join(api, url, judge_pid, publish, deadline).await
                })
            })
            .collect();
        let mut joined: Vec<Joined> = Vec::new();
        for t in tasks {
            // A joiner cannot outlive its own deadline by much; this bounds a hung connect.
            match tokio::time::timeout(deadline + Duration::from_secs(35), t).await {
                Ok(Ok(j)) => joined.push(j),
                Ok(Err(e)) => {
                    failures += 1;
                    eprintln!("joiner failed: {e}");
                }
                Err(_) => {
                    failures += 1;
                    eprintln!("joiner hung");
                }
            }
        }
        let cpu = cpu_seconds() - cpu0;
        for j in &joined {
            if let Some(f) = &j.failure {
                failures += 1;
                eprintln!("joiner failed: {f}");
            }
            samples.push(STEPS.iter().map(|s| j.marks.get(*s)).collect());
        }
        println!(
            "round {}: {} joined, process CPU {:.2} s during the round",
            round + 1,
            joined.len(),
            cpu
        );
        for j in joined {
            j.peer.close().await;
        }
        // Back to the judge alone before the next round.
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            let stats = server
                .state
                .hearings
                .running(&hid)
                .context("hearing task")?
                .stats()
                .await?;
            if stats.connections == 1 {
                break;
            }
            if Instant::now() > until {
                bail!("joiners still connected 15 s after leaving: {stats:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    report::print(&samples);
    println!("{}", report::summary_line(args.joiners, &samples, failures));
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    server.stop().await;
    console.close().await;
    if failures > 0 {
        bail!("{failures} joiner(s) did not reach the judge's first keyframe");
    }
    Ok(())
}

/// User + system CPU time of this process (all threads), in seconds.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // rest starts at field 3 (state), so field n is at index n - 3.
    (ticks(11) + ticks(12)) / 100.0
}
