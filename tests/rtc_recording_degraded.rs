//! Disk full during a real hearing: the hearing's media directory is a small tmpfs; mid
//! hearing the test fills it. The judge's console must be told "recording degraded" for
//! the witness (the time it took is printed; scripts/bench-* do not cover it), told again
//! when the console reloads, the hearing goes on, and once space is free the recording resumes into a new file
//! ("recording" again). Sealed, the bundle verifies: nothing already written was damaged.
//!
//! Needs root (or password-less sudo) to mount the tmpfs. Run inside a loopback-only
//! network namespace (scripts/test does).
#![cfg(feature = "server")]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::TestServer;
use common::attest::Signalling;
use common::media::{assert_decodes, assert_verifies, log_entries};
use common::peer::{Peer, client_api};
use common::ws::WsClient;
use ed25519_dalek::SigningKey;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use sworn::domain::StaffRole;

/// A tmpfs mounted on a directory for the test's lifetime.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let args = ["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"];
        let ok = |mut c: Command| c.args(args).arg(at).status().is_ok_and(|s| s.success());
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "mount"]);
        assert!(
            ok(Command::new("mount")) || ok(sudo),
            "this test needs root to mount a tmpfs on {}",
            at.display()
        );
        Tmpfs(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros into `path` until the file system is full.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        match f.write(&block) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k as u64,
        }
    }
    let _ = f.sync_all();
    n
}

fn recording_state(j: &impl Signalling, pid: &str) -> Option<String> {
    j.messages()
        .iter()
        .rev()
        .find(|m| m["type"] == "recording" && m["participant"] == pid)
        .and_then(|m| m["state"].as_str().map(str::to_owned))
}

async fn wait_state(j: &impl Signalling, pid: &str, state: &str) -> Duration {
    let t = Instant::now();
    let deadline = t + Duration::from_secs(30);
    while recording_state(j, pid).as_deref() != Some(state) {
        assert!(
            Instant::now() < deadline,
            "the console never showed {state} for the witness: {:?}",
            recording_state(j, pid)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    t.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_shows_recording_degraded_in_the_console_and_recording_resumes() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let media = server
        .dir
        .path()
        .join("data/hearings")
        .join(&h)
        .join("media");
    let _tmpfs = Tmpfs::mount(&media, "16m");
    judge
        .post(&format!("/api/hearings/{h}/open"), json!({}))
        .await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let api = client_api();
    let key = SigningKey::from_bytes(&[7; 32]);
    let mut j = Peer::connect(
        &api,
        &server.ws_url(&format!("/ws/hearings/{h}")),
        judge.cookie.as_deref(),
    )
    .await;
    j.wait_type("welcome").await;
    j.send(json!({"type": "hello", "public_key": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes())}));
    j.publish().await;
    let mut w = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    w.wait_type("lobby").await;
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{wid}/admit"),
            json!({}),
        )
        .await;
    w.wait_type("admitted").await;
    w.publish().await;
    wait_state(&j, &wid, "recording").await;
    // Let a few chunks land, then fill the disk.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let filler = media.join("filler");
    let filled = Instant::now();
    let bytes = fill(&filler);
    let took = wait_state(&j, &wid, "degraded").await;
    let degraded_after = filled.elapsed();
    println!(
        "disk filled ({bytes} bytes); console showed \"degraded\" {:.0} ms later (waited {:.0} ms)",
        degraded_after.as_secs_f64() * 1e3,
        took.as_secs_f64() * 1e3
    );
    // The hearing goes on: the judge still receives the witness's media.
    let seen = j.received(&wid, "video");
    j.wait_received(&wid, "video", seen + 40).await;
    assert_eq!(recording_state(&j, &wid).as_deref(), Some("degraded"));
    // The judge reloads the console: it is told again that the recording is degraded.
    j.close().await;
    let j = WsClient::connect(
        &server.ws_url(&format!("/ws/hearings/{h}")),
        judge.cookie.as_deref(),
    )
    .await;
    j.wait_type("welcome").await;
    wait_state(&j, &wid, "degraded").await;
    // Space again: recording resumes into a new file.
    std::fs::remove_file(&filler).unwrap();
    let resumed = wait_state(&j, &wid, "recording").await;
    println!(
        "space freed; recording resumed after {:.0} ms",
        resumed.as_secs_f64() * 1e3
    );
    tokio::time::sleep(Duration::from_secs(3)).await;

    let bundle = server.close_and_seal(&judge, &h).await;
    w.close().await;
    j.close().await;

    // Nothing written was damaged: the bundle verifies, and every file decodes cleanly
    // (the file the full disk interrupted is cut back to its last committed byte).
    assert_verifies(env!("CARGO_BIN_EXE_sworn-verify"), &bundle);
    let degraded = log_entries(&bundle)
        .into_iter()
        .filter(|e| e["type"] == "recording_degraded" && e["participant"] == wid.as_str())
        .count();
    assert!(degraded > 0, "no recording_degraded entry");
    let files: Vec<_> = std::fs::read_dir(bundle.join("media"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(wid.as_str())
        })
        .collect();
    assert!(
        files.len() >= 2,
        "recording did not resume in a new file: {files:?}"
    );
    for f in &files {
        assert_decodes(f);
    }
    server.stop().await;
}
