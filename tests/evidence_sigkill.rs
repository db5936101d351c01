//! Real crash: a child process appends and checkpoints as fast as it can and is killed
//! with SIGKILL at varying moments; every time, reopening recovers, and the closed log
//! bundles and verifies with the interruption reported.
#![cfg(feature = "evidence")]

#[path = "vectors/hearing.rs"]
mod hearing;

use std::process::{Command, Stdio};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use hearing::{Clock, T0, server_key};
use sworn::evidence::{HearingLog, write_bundle};
use sworn::verify::entry::EntryBody;
use sworn::verify::{VerifyOptions, verify_bundle};
use sworn::verify_cli::DirSource;

const ORIGIN: &str = "court.example/hearing/h-kill";

/// The child's work; only runs when the parent sets SWORN_KILL_DIR.
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var("SWORN_KILL_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let key = server_key();
    let mut clock = Clock(T0 * 1000);
    let k = SigningKey::from_bytes(&[1u8; 32]);
    let mut log = hearing::open_hearing(&dir, "h-kill", &key, &mut clock, &k, &k);
    let mut i = 0u64;
    loop {
        log.append(
            EntryBody::Marker {
                label: format!("tick {i} {}", "x".repeat((i % 97) as usize)),
                by: None,
            },
            clock.tick(),
        )
        .unwrap();
        if i % 7 == 6 {
            log.checkpoint(&key).unwrap();
        }
        i += 1;
    }
}

#[test]
fn sigkill_at_random_moments_always_recovers() {
    let exe = std::env::current_exe().unwrap();
    let mut interrupted = 0;
    for (round, delay_ms) in [60u64, 135, 210, 290, 370].into_iter().enumerate() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("log");
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env("SWORN_KILL_DIR", &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if !dir.join("entries.jsonl").exists() {
            continue; // killed before the log existed
        }
        let key = server_key();
        let mut clock = Clock((T0 + 3600) * 1000);
        let (mut log, rec) = HearingLog::open(&dir, "h-kill", ORIGIN, &key, clock.tick())
            .unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        if rec.interrupted() {
            interrupted += 1;
        }
        log.append(
            EntryBody::HearingClosed {
                reason: "closed_after_crash_test".into(),
            },
            clock.tick(),
        )
        .unwrap();
        log.checkpoint(&key).unwrap();
        let out = tmp.path().join("bundle");
        write_bundle(&dir, &tmp.path().join("none"), &key, &[], &out).unwrap();
        let report = verify_bundle(
            &DirSource::open(&out).unwrap(),
            &VerifyOptions {
                trusted_key: Some(key.verifying_key()),
                trusted_history: None,
                ..Default::default()
            },
        );
        assert!(report.valid, "round {round}:\n{}", report.to_text());
        assert_eq!(report.interruptions.len(), usize::from(rec.interrupted()));
    }
    // A writer killed mid-stream nearly always leaves uncheckpointed entries.
    assert!(interrupted >= 3, "only {interrupted} interrupted rounds");
}
