//! Join latency, sworn vs Janus, with the same publisher and the same joiner stack: one
//! publisher sends the fixtures (answering keyframe requests as a browser's encoder
//! does), then `rounds` joiners, one at a time, each receive-only, open their "link" and
//! are timed to the publisher's first decodable video frame (last packet of the first
//! complete, gap-free VP8 keyframe; bench_join's `FirstKeyframe`). "Link opened" is the
//! joiner's first request: the WebSocket connect of the invite link (sworn, the
//! participant already admitted, as bench_join does) or the HTTP `create` of a Janus
//! session (then `attach`, `join` as subscriber to the feed, Janus's offer, the answer
//! with `start`). Every step has a deadline; both servers are killed on every path.

use crate::feed::{Media, Sent};
use crate::http::Remote;
use crate::janus::{self, JanusArgs};
use crate::join_report::Samples;
use crate::joiner::{self, Marks, STEPS, Step};
use crate::peer::client_api;
use crate::sfu::{self, ChildGuard};
use anyhow::Context;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What a series of joins measured.
pub struct Joins {
    pub samples: Samples,
    pub failures: usize,
}

impl Joins {
    fn push(&mut self, marks: &Marks, failure: Option<String>) {
        if let Some(f) = failure {
            eprintln!("joiner failed: {f}");
            self.failures += 1;
        }
        self.samples
            .push(STEPS.iter().map(|s| marks.get(*s)).collect());
    }
}

pub struct SwornJoin<'a> {
    pub bin: &'a Path,
    pub work: &'a Path,
    pub port: u16,
    pub rounds: usize,
    pub deadline: Duration,
    /// Between the publisher starting and the first joiner, and between joiners.
    pub settle: Duration,
    pub media: &'a Media,
}

/// sworn: a hearing with one publishing witness, then `rounds` receive-only joiners.
pub async fn sworn(a: SwornJoin<'_>) -> anyhow::Result<Joins> {
    let data = a.work.join("sworn-join");
    sfu::add_judge(a.bin, &data)?;
    let mut server = sfu::start_server(a.bin, &data, a.port)?;
    let mut r = Remote {
        addr: format!("127.0.0.1:{}", a.port),
        cookie: None,
        csrf: None,
    };
    r.login("judge", sfu::PASSWORD);
    let h = sfu::open_hearing(&r)?;
    let (token, publisher) = sfu::invite(&r, &h, "Publisher")?;
    let (go, run, sent) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(true)),
        Arc::new(Sent::default()),
    );
    let api = client_api();
    let (p, tasks) = sfu::join_and_publish(
        &api,
        &r,
        a.port,
        (&h, &token, &publisher),
        a.media,
        (&go, &run, &sent),
    )
    .await?;
    janus::wait_connected(&p.pc, "sworn publisher").await?;
    go.store(true, Ordering::Relaxed);
    tokio::time::sleep(a.settle).await;

    let joiner_api = Arc::new(joiner::joiner_api(Duration::ZERO, None)?);
    let mut out = Joins {
        samples: Vec::new(),
        failures: 0,
    };
    for i in 0..a.rounds {
        let (token, pid) = sfu::invite(&r, &h, &format!("Joiner {i}"))?;
        r.post(
            &format!("/api/hearings/{h}/participants/{pid}/admit"),
            json!({}),
        );
        let url = format!("ws://127.0.0.1:{}/ws/join/{token}", a.port);
        let j = joiner::join(
            joiner_api.clone(),
            url,
            publisher.clone(),
            false,
            a.deadline,
        )
        .await;
        out.push(&j.marks, j.failure);
        j.peer.close().await;
        tokio::time::sleep(a.settle).await;
    }
    eprintln!(
        "sworn publisher: {} keyframes sent early on request",
        sent.keyframes_on_request.load(Ordering::Relaxed)
    );
    run.store(false, Ordering::Relaxed);
    r.post(&format!("/api/hearings/{h}/close"), json!({}));
    p.close().await;
    for t in tasks {
        t.abort();
    }
    stop(&mut server, "sworn serve");
    Ok(out)
}

fn stop(server: &mut ChildGuard, name: &str) {
    if !sfu::signal_and_wait(&mut server.0, "-TERM", Duration::from_secs(15)) {
        eprintln!("warning: {name} did not stop within 15 s of SIGTERM; killed");
    }
}

/// Janus: one publisher in the VideoRoom, then `rounds` subscriber-only joiners.
pub async fn janus(
    a: &JanusArgs<'_>,
    rounds: usize,
    deadline: Duration,
    settle: Duration,
) -> anyhow::Result<Joins> {
    let mut server = janus::start_janus(a)?;
    let api = janus::publisher_api(a.client_ip)?;
    let run = Arc::new(AtomicBool::new(true));
    let pubs = janus::start_publishers(a, &api, 1, &run).await?;
    let publisher = pubs.first().context("no Janus publisher")?;
    let keepalive = janus::keepalive(a.port, vec![publisher.session]);
    tokio::time::sleep(settle).await;

    let joiner_api = joiner::joiner_api(Duration::ZERO, Some(a.client_ip))?;
    let mut out = Joins {
        samples: Vec::new(),
        failures: 0,
    };
    for _ in 0..rounds {
        let marks = Arc::new(Marks::new());
        let pc = joiner_api.new_peer_connection(Default::default()).await?;
        joiner::watch(&pc, &marks, None);
        let steps = async {
            let session = janus::create_session(a.port).await?;
            // The Janus session is this joiner's signalling channel (sworn's WebSocket).
            marks.mark(Step::WsOpen);
            let handle = janus::attach(a.port, session).await?;
            crate::subscribe::subscribe(a.port, session, handle, &[publisher.feed], &pc, || {
                marks.mark(Step::Admitted)
            })
            .await?;
            marks.keyframe().await;
            Ok::<_, anyhow::Error>(session)
        };
        let failure = match tokio::time::timeout(deadline, steps).await {
            Ok(Ok(session)) => {
                let _ = janus::request(
                    a.port,
                    "POST",
                    format!("/janus/{session}"),
                    Some(json!({"janus": "destroy"})),
                )
                .await;
                None
            }
            Ok(Err(e)) => Some(format!("{e:#}")),
            Err(_) => Some(format!("no keyframe within {deadline:?}")),
        };
        out.push(&marks, failure);
        let _ = pc.close().await;
        tokio::time::sleep(settle).await;
    }
    eprintln!(
        "Janus publisher: {} keyframes sent early on request",
        publisher.sent.keyframes_on_request.load(Ordering::Relaxed)
    );
    run.store(false, Ordering::Relaxed);
    keepalive.abort();
    for p in pubs {
        let _ = p.pc.close().await;
        for t in p.tasks {
            t.abort();
        }
    }
    stop(&mut server, "janus");
    Ok(out)
}
