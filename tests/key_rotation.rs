//! Server key rotation end to end (#15 point 3): `sworn key rotate` refuses while the
//! server runs; on a stopped server it replaces the key and extends the key history; the
//! server restarts on the same data directory (reading back custody and hearing
//! checkpoints the old key signed) and publishes the history at
//! `/.well-known/sworn/key-history.json`; a hearing that spans the rotation seals with
//! checkpoints by both keys; old and new bundles and an export of the old one (custody
//! checkpoint by the new key) verify with `sworn-verify --trust <history>`, and with
//! `--trust <old key>` where a signed rotation leads from it; the new key alone does not
//! vouch for a bundle sealed before it existed.
#![cfg(feature = "server")]

mod common;

use std::path::Path;
use std::process::Command;

use axum::http::StatusCode;
use common::TestServer;
use serde_json::json;
use sworn::domain::StaffRole;

fn sworn(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sworn"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("SWORN_SERVER_NAME", "sworn.test")
        .output()
        .unwrap()
}

fn verify(bundle: &Path, trust: Option<&Path>) -> (i32, serde_json::Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sworn-verify"));
    cmd.arg(bundle).arg("--json");
    if let Some(t) = trust {
        cmd.arg("--trust").arg(t);
    }
    let out = cmd.output().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(json!(null));
    (out.status.code().unwrap_or(-1), report)
}

fn failing_codes(report: &serde_json::Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["error"]["code"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Key ids (first 4 bytes of the signature blob) of a note's signature lines.
fn note_key_ids(note: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let text = std::str::from_utf8(note).unwrap();
    let sigs = &text[text.rfind("\n\n").unwrap() + 2..];
    sigs.lines()
        .map(|l| {
            let b64 = l.rsplit(' ').next().unwrap();
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()[..4]
                .to_vec()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_every_bundle_verifiable() {
    let server = TestServer::start().await;
    let data = server.dir.path().join("data");
    let work = tempfile::tempdir().unwrap();
    let judge = server.staff("judge", StaffRole::Judge).await;
    let pros = server.staff("pros", StaffRole::Prosecutor).await;

    // Hearing A is sealed under the first key; hearing B is open across the rotation.
    let a = server.sealed_hearing(&judge).await;
    let a_dir = server.sealed(&a).await;
    let b = judge.hearing().await;
    judge.invite(&b, "Witness B", "witness").await;
    judge.open(&b).await;
    let old_pem = work.path().join("old.pub.pem");
    std::fs::write(&old_pem, server.state.key.public_pem()).unwrap();
    let old_key = server.state.key.verifying_key();

    // Refused while the server holds the data directory.
    let busy = sworn(&data, &["key", "rotate"]);
    assert!(!busy.status.success());
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("stop the server first"),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );
    assert_eq!(server.state.key.verifying_key(), old_key);

    let mut rotated = None;
    let server = server
        .restart(|data| {
            let out = sworn(data, &["key", "rotate"]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            rotated = Some(String::from_utf8_lossy(&out.stdout).into_owned());
        })
        .await;
    let rotated = rotated.unwrap();
    assert!(rotated.contains("history:     2 keys"), "{rotated}");
    let new_key = server.state.key.verifying_key();
    assert_ne!(new_key, old_key);
    let new_pem = work.path().join("new.pub.pem");
    std::fs::write(&new_pem, server.state.key.public_pem()).unwrap();

    // The history is published; the old private key is gone.
    let anon = server.anonymous();
    let (s, _, history) = anon
        .get_bytes("/.well-known/sworn/key-history.json", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let parsed = sworn::verify::key_history::parse(&history).unwrap();
    assert_eq!(
        parsed.keys.iter().map(|k| k.key).collect::<Vec<_>>(),
        vec![old_key, new_key]
    );
    let history_file = work.path().join("key-history.json");
    std::fs::write(&history_file, &history).unwrap();
    assert!(!data.join("keys/server.key.next").exists());

    // Hearing B closes under the new key: its log holds checkpoints by both keys.
    let judge = server.login("judge", "judge-password-long").await;
    let b_dir = server.close_and_seal(&judge, &b).await;
    let old_id = sworn::verify::keys::key_id("sworn.test", &old_key).to_vec();
    let new_id = sworn::verify::keys::key_id("sworn.test", &new_key).to_vec();
    let mut signers = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(b_dir.join("log/checkpoints")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "note") {
            signers.extend(note_key_ids(&std::fs::read(p).unwrap()));
        }
    }
    assert!(
        signers.contains(&old_id) && signers.contains(&new_id),
        "{signers:?}"
    );
    assert!(b_dir.join("keys/history.json").exists());

    // Bundle B: the new key, the history, or the old key through the signed rotation.
    for trust in [&new_pem, &history_file, &old_pem] {
        let (code, r) = verify(&b_dir, Some(trust));
        assert_eq!(code, 0, "B --trust {trust:?}: {:?}", failing_codes(&r));
    }
    // Bundle A (sealed before the rotation): the old key or the history; the new key
    // alone never vouches for it.
    for trust in [&old_pem, &history_file] {
        let (code, r) = verify(&a_dir, Some(trust));
        assert_eq!(code, 0, "A --trust {trust:?}: {:?}", failing_codes(&r));
    }
    let (code, r) = verify(&a_dir, Some(&new_pem));
    assert_eq!(code, 1);
    assert_eq!(
        failing_codes(&r).first().map(String::as_str),
        Some("UnknownKey")
    );

    // An export of A made now: its custody checkpoint is the new key's, linked to A's key
    // by custody/history.json.
    judge
        .post(
            &format!("/api/hearings/{a}/grants"),
            json!({"username": "pros"}),
        )
        .await;
    drop(pros);
    let pros = server.login("pros", "pros-password-long").await;
    let file = pros.export_file(&a).await;
    let (s, _, zip) = pros
        .get_bytes(&format!("/api/portal/hearings/{a}/exports/{file}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let export = work.path().join("a-export.zip");
    std::fs::write(&export, &zip).unwrap();
    let (code, r) = verify(&export, Some(&history_file));
    assert_eq!(code, 0, "{:?}", failing_codes(&r));
    assert!(!r["custody"].as_array().unwrap().is_empty());
    let (code, r) = verify(&export, Some(&old_pem));
    assert_eq!(code, 0, "{:?}", failing_codes(&r));

    // The portal's report of A (pinned with the server's history) is valid.
    let summary = pros.get(&format!("/api/portal/hearings/{a}")).await;
    assert_eq!(summary["report"]["verdict"], "valid", "{summary}");

    // The custody log, with checkpoints by both keys, still verifies.
    let server = server
        .restart(|data| {
            let out = sworn(data, &["custody", "verify"]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        })
        .await;
    server.stop().await;
}
