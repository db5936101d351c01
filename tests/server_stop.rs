//! SIGTERM to a real `sworn serve` in the middle of a recorded hearing (#13 point 8): the
//! server stops gracefully and exits 0; every participant's socket closes with 1001;
//! before it exits, every recording is sealed (`file_sealed`, and the files decode to
//! their end), the log records `server_stopped` (reason `SIGTERM`, nothing unsealed)
//! and a checkpoint covers the whole log. After a restart nothing needs recovering: the
//! hearing goes on, closes and seals, and its bundle verifies with no interruption and
//! minutes that say the server was stopped. Loopback-only namespace.
#![cfg(feature = "server")]

mod common;

use common::http::Remote;
use common::peer::client_api;
use common::serve::{add_judge, invite_join_admit, start};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

fn entries(data: &std::path::Path, h: &str) -> Vec<Value> {
    std::fs::read(data.join("hearings").join(h).join("log/entries.jsonl"))
        .unwrap()
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_hearing_seals_logs_why_and_resumes_cleanly() {
    let bin = env!("CARGO_BIN_EXE_sworn");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = 18190;
    add_judge(bin, &data);
    let mut server = start(bin, &data, port);
    let mut r = Remote {
        addr: format!("127.0.0.1:{port}"),
        cookie: None,
        csrf: None,
    };
    r.login("judge", "judge-password-long");
    let h = r.post("/api/hearings", json!({"case_ref": "CR", "mla_ref": "M", "requesting_state": "FR", "requested_state": "ES", "scheduled_at": "2026-12-01T09:00:00Z", "language": "en"}))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    r.post(&format!("/api/hearings/{h}/open"), json!({}));
    let api = client_api();
    let mut ids = vec![];
    let mut peers = vec![];
    for (name, role) in [("W", "witness"), ("O", "official")] {
        let (p, _, pid) =
            invite_join_admit(&r, &api, &h, &format!("ws://127.0.0.1:{port}"), name, role).await;
        ids.push(pid);
        peers.push(p);
    }
    for p in peers.iter_mut() {
        p.wait_type("admitted").await;
        p.publish().await;
    }
    peers[0].wait_received(&ids[1], "video", 10).await;
    // Wait until both recordings have committed media.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = entries(&data, &h);
        let chunked: std::collections::BTreeSet<&str> = log
            .iter()
            .filter(|e| e["type"] == "media_chunk")
            .filter_map(|e| e["participant"].as_str())
            .collect();
        if ids.iter().all(|i| chunked.contains(i.as_str())) {
            break;
        }
        assert!(Instant::now() < deadline, "no media committed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let st = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    // Sockets close with 1001 (going away) before the process ends.
    for p in &peers {
        let (code, _) = p.wait_closed().await;
        assert_eq!(code, 1001);
    }
    let status = server.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a graceful stop exits 0");

    // What the stop left: every media file sealed and decodable, the reason logged, a
    // checkpoint over everything.
    let log = entries(&data, &h);
    let stopped: Vec<&Value> = log
        .iter()
        .filter(|e| e["type"] == "server_stopped")
        .collect();
    assert_eq!(stopped.len(), 1, "{log:?}");
    assert_eq!(stopped[0]["reason"], "SIGTERM");
    assert_eq!(stopped[0]["unsealed"], 0);
    let files: std::collections::BTreeSet<&str> = log
        .iter()
        .filter(|e| e["type"] == "media_chunk")
        .filter_map(|e| e["file"].as_str())
        .collect();
    let sealed: std::collections::BTreeSet<&str> = log
        .iter()
        .filter(|e| e["type"] == "file_sealed")
        .filter_map(|e| e["file"].as_str())
        .collect();
    assert!(
        !files.is_empty() && files.is_subset(&sealed),
        "{files:?} {sealed:?}"
    );
    for f in &files {
        let path = data.join("hearings").join(&h).join("media").join(f);
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-xerror", "-i"])
            .arg(&path)
            .args(["-f", "null", "-"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let size = log.len();
    assert!(
        data.join("hearings")
            .join(&h)
            .join(format!("log/checkpoints/{size:06}.note"))
            .exists(),
        "no checkpoint covers all {size} entries"
    );

    // Restart: nothing to recover; the hearing closes and seals.
    let mut server = start(bin, &data, port);
    r.login("judge", "judge-password-long");
    r.post(&format!("/api/hearings/{h}/close"), json!({}));
    let bundle = data.join("hearings").join(&h).join("bundle");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !bundle.with_extension("zip").exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(server.wait().unwrap().code(), Some(0));
    let log = entries(&data, &h);
    assert!(
        !log.iter()
            .any(|e| e["type"] == "recovered_after_interruption"),
        "{log:?}"
    );
    assert_eq!(log.last().unwrap()["reason"], "closed_by_judge");
    let out = Command::new(env!("CARGO_BIN_EXE_sworn-verify"))
        .arg(&bundle)
        .arg("--json")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        out.status.code(),
        Some(sworn::verify_cli::EXIT_VALID_KEY_NOT_PINNED),
        "{report}"
    );
    assert_eq!(report["interruptions"], json!([]));
    // The minutes (rendered from the log, as the judge signs them) say it.
    let text = sworn::evidence::minutes::render_minutes(
        &std::fs::read(bundle.join("log/entries.jsonl")).unwrap(),
    )
    .unwrap();
    assert!(text.contains("the server was stopped (SIGTERM)"), "{text}");
}
