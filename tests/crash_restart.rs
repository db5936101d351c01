//! kill -9 of a real `sworn serve` process in the middle of a recorded hearing, at
//! several seeded moments: every recording on disk decodes and reaches to within 1.5 s
//! of the kill; after a restart the log is recovered, the hearing is closed and sealed,
//! and the bundle verifies with the interruption stated. Loopback-only namespace.
#![cfg(feature = "server")]

mod common;

use common::http::Remote;
use common::media::last_pts;
use common::peer::client_api;
use common::serve::{add_judge, invite_join_admit, start};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

async fn run_seed(seed: u64) {
    let bin = env!("CARGO_BIN_EXE_sworn");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = 18080 + seed as u16;
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
    let mut ids = vec![];
    let mut peers = vec![];
    let api = client_api();
    r.post(&format!("/api/hearings/{h}/open"), json!({}));
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
    let publishing = Instant::now();
    let _ = publishing;
    peers[0].wait_received(&ids[1], "video", 10).await;
    // A seeded moment between 3 and 7 s into the recording.
    let at = Duration::from_millis(3000 + (seed * 7919) % 4000);
    tokio::time::sleep_until(tokio::time::Instant::from_std(publishing + at)).await;
    server.kill().unwrap(); // SIGKILL
    let killed_at = time::OffsetDateTime::now_utc();
    let _ = server.wait();
    for p in peers {
        p.close().await;
    }

    // What kill -9 left: every file decodes, and reaches to within 1.5 s of the kill.
    let media = data.join("hearings").join(&h).join("media");
    let files: Vec<_> = std::fs::read_dir(&media)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let entries =
        std::fs::read_to_string(data.join("hearings").join(&h).join("log/entries.jsonl")).unwrap();
    for f in &files {
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(f)
            .args(["-f", "null", "-"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "seed {seed}: {f:?} does not decode: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Wall clock of the file's media time 0, from its first committed chunk.
        let name = f.file_name().unwrap().to_str().unwrap();
        let first = entries
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|e| e["type"] == "media_chunk" && e["file"] == name)
            .expect("a committed chunk");
        let wall = time::OffsetDateTime::parse(
            first["wall_start"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let start = wall - time::Duration::milliseconds(first["media_start_ms"].as_i64().unwrap());
        let last = last_pts(f);
        let lost = (killed_at - start).as_seconds_f64() - last;
        println!(
            "seed {seed}: {name}: last frame {last:.2} s into the file, {lost:.2} s before the kill"
        );
        assert!(lost < 1.5, "seed {seed}: {name} lost {lost:.2} s");
    }

    // Restart: the log is recovered; close and seal; the bundle verifies and says so.
    let mut server = start(bin, &data, port);
    r.login("judge", "judge-password-long");
    r.post(&format!("/api/hearings/{h}/close"), json!({}));
    let bundle = data.join("hearings").join(&h).join("bundle");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !bundle.with_extension("zip").exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill().unwrap();
    let _ = server.wait();
    let report = common::media::assert_verifies_json(env!("CARGO_BIN_EXE_sworn-verify"), &bundle);
    assert!(
        report["interruptions"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "seed {seed}: interruption not reported: {report}"
    );
    let minutes_text = std::fs::read_to_string(bundle.join("log/entries.jsonl")).unwrap();
    assert!(
        minutes_text.contains("recovered_after_interruption")
            && minutes_text.contains("closed_after_interruption")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_mid_hearing_then_restart_and_seal() {
    for seed in [1u64, 2, 3] {
        run_seed(seed).await;
    }
}
