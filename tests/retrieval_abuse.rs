//! Issue #12 scenario 7: a granted account must not multiply the server's work. Each
//! test performs the abuse and counts what it cost through the custody writer's
//! counters (`Custody::stats`), the custody log, the files on disk and the portal's
//! report counter, never through timing:
//! - 500 `Range` requests of one export: one session entry, not 500 entries and fsyncs;
//! - 200 concurrent custody commits: group-committed, far fewer fsyncs, coalesced
//!   checkpoints;
//! - 50 exports: one reused export, and with custody moving on, a bounded number of files;
//! - repeated summaries: the report cached at seal, never recomputed;
//! - quotas: 429 `quota_exceeded`, the refusal logged once, without an fsync.
#![cfg(feature = "server")]

mod common;

use axum::http::{Method, StatusCode, header};
use common::{Client, TestServer};
use serde_json::json;
use std::time::Duration;
use sworn::custody::Fact;
use sworn::domain::StaffRole;

/// A sealed hearing granted to a prosecutor; (server, prosecutor, hearing).
async fn setup(edit: impl FnOnce(&mut sworn::config::Config)) -> (TestServer, Client, String) {
    let server = TestServer::start_with(|c| {
        // No checkpoint falls due during a test unless forced: counts stay exact.
        c.retrieval.checkpoint_interval = Duration::from_secs(3600);
        edit(c)
    })
    .await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let pros = server.staff("pros", StaffRole::Prosecutor).await;
    let h = server.sealed_hearing(&judge).await;
    judge
        .post(
            &format!("/api/hearings/{h}/grants"),
            json!({"username": "pros"}),
        )
        .await;
    (server, pros, h)
}

async fn export(pros: &Client, h: &str) -> (StatusCode, Option<String>) {
    let (s, hd, _) = pros
        .get_bytes(&format!("/api/portal/hearings/{h}/bundle.zip"), None)
        .await;
    let loc = hd
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    (s, loc)
}

fn custody_lines(server: &TestServer) -> Vec<serde_json::Value> {
    std::fs::read_to_string(server.dir.path().join("data/custody/entries.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn export_files(server: &TestServer) -> usize {
    std::fs::read_dir(server.dir.path().join("data/exports"))
        .unwrap()
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_ranges_cost_one_session_entry() {
    let (server, pros, h) = setup(|_| {}).await;
    let (s, url) = export(&pros, &h).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let url = url.unwrap();
    let (_, _, whole) = pros.get_bytes(&url, None).await;
    let before = server.state.custody.stats();
    for i in 0..500u64 {
        let a = (i * 7) % (whole.len() as u64 - 10);
        let (s, _, part) = pros
            .get_bytes(&url, Some(&format!("bytes={a}-{}", a + 9)))
            .await;
        assert_eq!(s, StatusCode::PARTIAL_CONTENT);
        assert_eq!(part, whole[a as usize..a as usize + 10]);
    }
    let after = server.state.custody.stats();
    println!("500 ranges: {before:?} -> {after:?}");
    assert_eq!(after.entries - before.entries, 1, "one opening entry");
    assert_eq!(after.syncs - before.syncs, 1, "one fsync");
    let opening = custody_lines(&server).pop().unwrap();
    let what = opening["what"].as_str().unwrap().to_owned();
    assert!(what.contains(" bytes 0-9 session "), "{what}");
    // Shutdown closes the session: one entry lists what was served.
    server.state.custody.shutdown();
    let closing = custody_lines(&server).pop().unwrap();
    let what = closing["what"].as_str().unwrap();
    assert!(what.contains("closed: 500 requests, 5000 bytes"), "{what}");
    assert_eq!(closing["result"], "served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_share_fsyncs_and_checkpoints() {
    let (server, _pros, h) = setup(|_| {}).await;
    server.state.custody.flush().await.unwrap();
    let before = server.state.custody.stats();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let state = server.state.clone();
            let h = h.clone();
            tokio::spawn(async move {
                state
                    .custody
                    .commit(Fact::new(
                        "pros (prosecutor)",
                        &h,
                        &format!("view {i}"),
                        "served",
                    ))
                    .await
                    .unwrap()
                    .seq
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    // Durable on return: every entry is in the file.
    let on_disk = custody_lines(&server).len() as u64;
    assert!(seqs.iter().all(|s| *s < on_disk));
    let after = server.state.custody.stats();
    println!("200 commits: {before:?} -> {after:?}");
    assert_eq!(after.entries - before.entries, 200);
    assert!(after.syncs - before.syncs < 100, "{after:?}");
    assert!(after.checkpoints - before.checkpoints <= 1, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_exports_reuse_one_file_and_stay_bounded() {
    let (server, pros, h) = setup(|c| {
        c.retrieval.exports_per_hour = 100;
        c.retrieval.export_grace = Duration::ZERO;
    })
    .await;
    let (_, first) = export(&pros, &h).await;
    let first = first.unwrap();
    for _ in 0..49 {
        let (s, loc) = export(&pros, &h).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(loc.as_deref(), Some(first.as_str()), "reused");
    }
    assert_eq!(export_files(&server), 2, "one export: .tail + .json");
    let reused = custody_lines(&server)
        .iter()
        .filter(|e| e["result"] == "reused")
        .count();
    assert_eq!(reused, 49);
    let (s, _, _) = pros.get_bytes(&first, None).await;
    assert_eq!(s, StatusCode::OK);
    // The custody moves on (a summary) before each: a new export each time, and the
    // superseded ones are deleted.
    let mut last = first;
    for _ in 0..50 {
        pros.get(&format!("/api/portal/hearings/{h}")).await;
        let (s, loc) = export(&pros, &h).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let loc = loc.unwrap();
        assert_ne!(loc, last);
        last = loc;
        assert!(
            export_files(&server) <= 4,
            "{} files",
            export_files(&server)
        );
    }
    let (s, _, _) = pros.get_bytes(&last, None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summaries_use_the_report_cached_at_seal() {
    let (server, pros, h) = setup(|_| {}).await;
    let cache = server
        .dir
        .path()
        .join(format!("data/hearings/{h}/bundle.report.json"));
    assert!(cache.is_file(), "report cached at seal");
    for _ in 0..20 {
        let v = pros.get(&format!("/api/portal/hearings/{h}")).await;
        assert_eq!(v["report"]["valid"], true, "{}", v["report"]);
    }
    assert_eq!(server.state.retrieval.reports_computed(), 0);
    // Gone (or stale): computed once, stored again.
    std::fs::remove_file(&cache).unwrap();
    for _ in 0..5 {
        pros.get(&format!("/api/portal/hearings/{h}")).await;
    }
    assert_eq!(server.state.retrieval.reports_computed(), 1);
    assert!(cache.is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_quota_is_429_logged_once_without_fsync() {
    let (server, pros, h) = setup(|c| {
        c.retrieval.requests_per_minute = 10;
        c.retrieval.exports_per_hour = 1;
    })
    .await;
    let summary = format!("/api/portal/hearings/{h}");
    let (s, _) = export(&pros, &h).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    for _ in 0..8 {
        pros.get(&summary).await;
    }
    // The custody moved on: the next export would be new, over the export quota.
    let before = server.state.custody.stats();
    let (s, _) = export(&pros, &h).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let after = server.state.custody.stats();
    assert_eq!(after.entries - before.entries, 1);
    assert_eq!(after.syncs, before.syncs, "no fsync for a refusal");
    // 10 requests a minute: the 11th and every later one refused, logged once.
    let before = server.state.custody.stats();
    for _ in 0..200 {
        let (s, v) = pros.call(Method::GET, &summary, None).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(v["error"]["code"], "quota_exceeded");
    }
    let after = server.state.custody.stats();
    println!("200 refusals: {before:?} -> {after:?}");
    assert_eq!(after.entries - before.entries, 1, "one refusal entry");
    assert_eq!(after.syncs, before.syncs, "no fsync for refusals");
    let refused: Vec<_> = custody_lines(&server)
        .into_iter()
        .filter(|e| e["result"] == "refused")
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused[1]["what"]
            .as_str()
            .unwrap()
            .starts_with("quota_exceeded (requests per minute)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_per_day_quota() {
    let (server, pros, h) = setup(|c| c.retrieval.bytes_per_day = 1000).await;
    let (_, url) = export(&pros, &h).await;
    let url = url.unwrap();
    let (s, _, _) = pros.get_bytes(&url, Some("bytes=0-899")).await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    let (s, _, body) = pros.get_bytes(&url, Some("bytes=900-1099")).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["code"], "quota_exceeded");
    let last = custody_lines(&server).pop().unwrap();
    assert_eq!(last["result"], "refused");
    assert!(
        last["what"]
            .as_str()
            .unwrap()
            .starts_with("quota_exceeded (bytes per day)")
    );
}
