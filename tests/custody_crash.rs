//! Custody under kill -9 (issue #5), against the real `sworn serve` process. A download
//! is an export: `GET …/bundle.zip` commits `export <id> of bundle …` and answers 303 to
//! `…/exports/<id>.zip`, whose every request commits `download export <id> [bytes a-b]`
//! before its first byte.
//! (a) the debug-build failpoint `SWORN_FAILPOINT=custody-after-append` kills the server
//!     right after a custody entry is durable and before any response — once at the
//!     export's creation, once at the download of an existing export: the client gets no
//!     byte, and after a restart the entry is there, `sworn custody verify` passes and the
//!     court's custody list shows it;
//! (b) black box: exports, ranged downloads and views in flight from several threads,
//!     SIGKILL at a seeded moment, restart, repeat: every request that received a response
//!     (a redirect, a body byte) has its custody entry, and the log verifies after well
//!     over 100 retrievals across the restarts.
//!
//! Loopback TCP only (no WebRTC). Each test has its own data directory and ports.
#![cfg(feature = "server")]

#[path = "common/http.rs"]
mod http;
#[path = "custody_crash/support.rs"]
mod support;

use serde_json::Value;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::{
    PROS, Server, custody_entries, custody_verify, pros_retrievals, raw_get, sealed_and_granted,
};

/// Runs one request against a server armed with the failpoint: it must die by SIGKILL
/// with nothing sent, leaving exactly one new custody entry, which it returns.
fn crash_on(data: &Path, path: &str, range: Option<&str>) -> Value {
    let before = custody_entries(data).len();
    let server = Server::start(data, true);
    let cookie = server.remote("pros").cookie.clone().unwrap();
    let got = raw_get(&server.addr, &cookie, path, range).expect("connected");
    assert!(!got.any, "the killed server sent something: {got:?}");
    let mut child = server.child;
    let st = child.wait().unwrap();
    assert_eq!(st.signal(), Some(9), "died by SIGKILL: {st}");
    let after = custody_entries(data);
    assert_eq!(after.len(), before + 1, "one durable entry");
    let e = after.last().unwrap().clone();
    assert_eq!(e["type"], "retrieval");
    assert_eq!(e["user"], PROS);
    println!("crashed state: {}", custody_verify(data).trim());
    e
}

/// The court's custody list (as the judge's grants page shows it) has entry `seq`.
fn court_lists(data: &Path, h: &str, seq: &Value) {
    let server = Server::start(data, false);
    let judge = server.remote("judge");
    let (s, v, _) = judge.request("GET", &format!("/api/hearings/{h}/grants"), None);
    assert_eq!(s, 200, "{v}");
    let listed = v["custody"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["seq"] == *seq && c["user"] == PROS);
    assert!(listed, "custody list lacks entry {seq}: {v}");
    server.kill();
    println!("after restart: {}", custody_verify(data).trim());
}

#[test]
fn failpoint_after_custody_append_entry_survives_no_byte_served() {
    let tmp = tempfile::tempdir().unwrap();
    let data: PathBuf = tmp.path().join("data");
    let h = sealed_and_granted(&data);

    // 1. Killed while making the export (before the 303).
    let e = crash_on(&data, &format!("/api/portal/hearings/{h}/bundle.zip"), None);
    assert_eq!(e["retrieved_hearing"], h.as_str());
    let what = e["what"].as_str().unwrap();
    assert!(
        what.starts_with("export ") && what.contains(" of bundle "),
        "{e}"
    );
    court_lists(&data, &h, &e["seq"]);

    // 2. An export made normally, then the server killed as it starts serving it.
    let server = Server::start(&data, false);
    let cookie = server.remote("pros").cookie.clone().unwrap();
    let got = raw_get(
        &server.addr,
        &cookie,
        &format!("/api/portal/hearings/{h}/bundle.zip"),
        None,
    )
    .unwrap();
    assert_eq!(got.status, 303, "{got:?}");
    let location = got.location.unwrap();
    server.kill();
    let e = crash_on(&data, &location, Some("bytes=100-"));
    let eid = location
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".zip");
    assert!(
        e["what"]
            .as_str()
            .unwrap()
            .starts_with(&format!("download export {eid} bytes 100-")),
        "{e}"
    );
    court_lists(&data, &h, &e["seq"]);
}

/// One request a load thread made.
#[derive(Debug)]
enum Req {
    /// `GET bundle.zip`: made an export (a 303 arrived) or not.
    Export { eid: Option<String> },
    /// `Range: bytes=<start>-` of an export; the start is unique in the whole test.
    Download { eid: String, start: u64, body: bool },
    /// The portal summary.
    Summary { body: bool },
}

impl Req {
    /// The client saw a response (a redirect or a body byte).
    fn answered(&self) -> bool {
        match self {
            Req::Export { eid } => eid.is_some(),
            Req::Download { body, .. } | Req::Summary { body } => *body,
        }
    }
}

/// Tiny seeded generator (xorshift) for the kill moments and request mix.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// One load thread: up to 200 requests, stopping when the server is gone.
fn load(addr: &str, cookie: &str, h: &str, counter: &AtomicU64, mut y: u64) -> Vec<Req> {
    let mut out = Vec::new();
    let mut export: Option<String> = None;
    for _ in 0..200 {
        let r = match (next(&mut y) % 6, &export) {
            (0, _) => raw_get(addr, cookie, &format!("/api/portal/hearings/{h}"), None).map(|g| {
                Req::Summary {
                    body: g.status == 200 && g.body_bytes > 0,
                }
            }),
            (1, _) | (_, None) => raw_get(
                addr,
                cookie,
                &format!("/api/portal/hearings/{h}/bundle.zip"),
                None,
            )
            .map(|g| {
                let eid = g.location.filter(|_| g.status == 303).map(|l| {
                    l.rsplit('/')
                        .next()
                        .unwrap()
                        .trim_end_matches(".zip")
                        .to_owned()
                });
                export = eid.clone().or(export.take());
                Req::Export { eid }
            }),
            (_, Some(eid)) => {
                let start = counter.fetch_add(1, Ordering::SeqCst);
                raw_get(
                    addr,
                    cookie,
                    &format!("/api/portal/hearings/{h}/exports/{eid}.zip"),
                    Some(&format!("bytes={start}-")),
                )
                .map(|g| {
                    assert!(
                        !g.any || g.status == 206 || g.status == 0,
                        "unexpected status {g:?}"
                    );
                    Req::Download {
                        eid: eid.clone(),
                        start,
                        body: g.body_bytes > 0,
                    }
                })
            }
        };
        match r {
            Some(r) => out.push(r),
            None => break, // connection refused: the server is dead
        }
    }
    out
}

#[test]
fn sigkill_under_load_every_served_request_has_a_custody_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let data: PathBuf = tmp.path().join("data");
    let h = sealed_and_granted(&data);
    let zip_len = std::fs::metadata(data.join("hearings").join(&h).join("bundle.zip"))
        .unwrap()
        .len();
    assert!(zip_len > 1000, "bundle.zip is {zip_len} bytes");
    let counter = Arc::new(AtomicU64::new(1));
    let mut all: Vec<Req> = Vec::new();
    let mut rounds = 0;
    for seed in [11u64, 23, 37, 41, 59, 61, 73, 89, 97, 101, 103, 107] {
        let answered = all.iter().filter(|r| r.answered()).count();
        let downloads = all
            .iter()
            .filter(|r| matches!(r, Req::Download { body: true, .. }))
            .count();
        if rounds >= 4 && answered >= 120 && downloads >= 30 {
            break;
        }
        rounds += 1;
        let server = Server::start(&data, false);
        let cookie = server.remote("pros").cookie.clone().unwrap();
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let kill_after = Duration::from_millis(400 + next(&mut x) % 2600);
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let (addr, cookie, h, counter) = (
                    server.addr.clone(),
                    cookie.clone(),
                    h.clone(),
                    counter.clone(),
                );
                let y = ((seed << 8) | t).wrapping_mul(0xd129_0b5f) | 1;
                std::thread::spawn(move || load(&addr, &cookie, &h, &counter, y))
            })
            .collect();
        std::thread::sleep(kill_after);
        server.kill();
        let mut round: Vec<Req> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        println!(
            "seed {seed}: killed after {} ms, {} requests in this round ({} answered)",
            kill_after.as_millis(),
            round.len(),
            round.iter().filter(|r| r.answered()).count()
        );
        all.append(&mut round);
    }
    assert!(
        counter.load(Ordering::SeqCst) < zip_len,
        "ran out of unique range starts"
    );

    // Restart once more: the server recovers the log; then it must verify.
    let server = Server::start(&data, false);
    let _ = server.remote("judge");
    server.kill();
    println!("{}", custody_verify(&data).trim());

    let entries = pros_retrievals(&data, &h);
    let whats: Vec<&str> = entries.iter().filter_map(|e| e["what"].as_str()).collect();
    let has = |prefix: &str| whats.iter().any(|w| w.starts_with(prefix));
    let (mut answered, mut summaries) = (0, 0);
    for r in all.iter().filter(|r| r.answered()) {
        answered += 1;
        match r {
            Req::Export { eid: Some(eid) } => assert!(
                has(&format!("export {eid} of bundle ")),
                "export {eid} was answered without a custody entry"
            ),
            // A range is served under its own entry or under the durable opening entry
            // of the account's session of that export (docs/bundle-format.md §2).
            Req::Download { eid, start, .. } => assert!(
                has(&format!("download export {eid} bytes {start}-"))
                    || whats.iter().any(|w| {
                        w.starts_with(&format!("download export {eid} bytes "))
                            && w.contains(" session ")
                    }),
                "export {eid} from byte {start} was served without a custody entry"
            ),
            _ => summaries += 1,
        }
    }
    let summary_entries = whats.iter().filter(|w| **w == "view summary").count();
    assert!(
        summary_entries >= summaries,
        "{summaries} summaries served, {summary_entries} custody entries"
    );
    let downloads = all
        .iter()
        .filter(|r| matches!(r, Req::Download { body: true, .. }))
        .count();
    println!(
        "{rounds} kill -9 rounds: {} requests, {answered} answered ({downloads} downloads with bytes), {} custody entries for the prosecutor",
        all.len(),
        entries.len()
    );
    assert!(rounds >= 4, "{rounds} rounds");
    assert!(downloads >= 30, "only {downloads} downloads served bytes");
    assert!(
        entries.len() >= 100,
        "only {} retrievals logged",
        entries.len()
    );
    assert!(answered >= 100, "only {answered} requests answered");
}
