//! A leaked invitation link (issue #12, scenario 1): the link is bound to the browser
//! that first used it. Another device opening it cannot replace the admitted witness,
//! arrives in the waiting room, cannot sign or negotiate media, and the court is alerted;
//! only the court can accept (rebinding the key, logged) or refuse it. A denial holds
//! across reconnections. Signalling only (WebSocket clients, no peer connection).
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::attest::{administer_oath, attest, latest_checkpoint, prove_device, pubkey, statement};
use common::ws::WsClient;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use sworn::hearing::protocol::close;

fn key(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[i; 32])
}

/// The types of the entries naming `participant`.
fn entries_about(log: &[Value], participant: &str) -> Vec<(String, Value)> {
    log.iter()
        .filter(|e| e["participant"] == participant)
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

async fn ping_pong(c: &WsClient) {
    let before = c.messages().iter().filter(|m| m["type"] == "pong").count();
    c.send(json!({"type": "ping"}));
    c.wait_nth("pong", before + 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaked_link_cannot_take_over_an_admitted_witness() {
    let server = TestServer::start().await;
    let (judge, h) = server.judge_with_open_hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let (j, _) = server.console(&judge, &h).await;
    j.send(json!({"type": "hello", "public_key": pubkey(&key(9))}));
    let join = server.ws_url(&format!("/ws/join/{wtok}"));

    // The witness's browser binds the invitation with its key; the court admits.
    let w = WsClient::connect(&join, None).await;
    w.send(json!({"type": "hello", "display_name": "Witness W", "public_key": pubkey(&key(1))}));
    w.wait_type("lobby").await;
    ping_pong(&w).await; // the key is bound once the hello before it is handled
    judge.act(&h, &wid, "admit").await;
    w.wait_type("admitted").await;

    // Someone else opens the link, in a loop, with their own key (correctly signed).
    for _ in 0..3 {
        let a = WsClient::connect(&join, None).await;
        let challenge = a.wait_type("challenge").await;
        prove_device(&a, &key(2), &challenge);
        a.wait_type("device_unrecognized").await;
        a.wait_type("lobby").await;
        // Nothing it asks for is done: no oath, no media, no moderation.
        let st = statement(
            "oath",
            &h,
            &wid,
            &json!({"size": 1, "root": "AA=="}),
            "I swear",
            json!({"form": "oath"}),
        );
        attest(&a, &key(2), &st);
        a.send(json!({"type": "offer", "sdp": "v=0\r\n"}));
        a.send(json!({"type": "action", "action": "admit", "participant": wid}));
        ping_pong(&a).await;
        assert!(
            !a.messages()
                .iter()
                .any(|m| ["admitted", "attested", "answer"]
                    .contains(&m["type"].as_str().unwrap_or(""))),
            "{:?}",
            a.messages()
        );
        // The witness keeps their seat, undisturbed.
        ping_pong(&w).await;
        assert_eq!(w.closed(), None);
        a.close().await;
    }
    // The court was told, each time, and sees it in the roster while it waits.
    j.wait_for("device alert", |m| {
        m["type"] == "device_alert" && m["participant"] == wid.as_str()
    })
    .await;
    let a = WsClient::connect(&join, None).await;
    prove_device(&a, &key(2), &a.wait_type("challenge").await);
    a.wait_type("device_unrecognized").await;
    j.wait_for("roster shows the other device", |m| {
        m["type"] == "roster"
            && m["participants"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["id"] == wid.as_str() && p["other_device"] == true)
    })
    .await;
    // The court refuses it: it is closed, the witness stays.
    judge.act(&h, &wid, "refuse-device").await;
    assert_eq!(a.wait_closed().await.0, close::DEVICE_REFUSED);
    ping_pong(&w).await;

    // A socket that never answers the challenge with the bound key's proof, or answers
    // with something else, is not the witness either.
    let b = WsClient::connect(&join, None).await;
    b.wait_type("challenge").await;
    b.send(json!({"type": "hello", "public_key": pubkey(&key(1)), "proof": "AAAA"}));
    b.wait_type("device_unrecognized").await;
    b.close().await;
    let c = WsClient::connect(&join, None).await;
    c.wait_type("challenge").await;
    c.send(json!({"type": "ping"}));
    assert_eq!(c.wait_closed().await.0, close::NO_PROOF);

    // The witness may not rebind another key on their own connection.
    w.send(json!({"type": "hello", "public_key": pubkey(&key(3))}));
    w.wait_for("key refused", |m| {
        m["type"] == "error" && m["code"] == "key_already_bound"
    })
    .await;

    // The witness's own browser reloads: it proves its key and is back, admitted.
    w.close().await;
    let w = WsClient::connect(&join, None).await;
    prove_device(&w, &key(1), &w.wait_type("challenge").await);
    w.wait_type("admitted").await;
    w.wait_type("checkpoint").await;
    // Their oath still works with the bound key.
    administer_oath(&j, &w, &key(1), &h, &wid).await;

    // The log: one key bound for the witness, every turned-away device recorded.
    let log = server.log_entries(&h);
    let about = entries_about(&log, &wid);
    let keys: Vec<&Value> = about
        .iter()
        .filter(|(t, _)| t == "key_bound")
        .map(|(_, e)| &e["public_key"])
        .collect();
    assert_eq!(keys, [&json!(pubkey(&key(1)))], "{about:?}");
    let refused: Vec<&str> = about
        .iter()
        .filter(|(t, _)| t == "join_refused")
        .map(|(_, e)| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        refused,
        [
            "unrecognized_device",
            "unrecognized_device",
            "unrecognized_device",
            "unrecognized_device",
            "device_refused",
            "unrecognized_device"
        ]
    );
    let _ = latest_checkpoint(&w);
    for c in [j, w] {
        c.close().await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_court_can_accept_the_witness_on_a_new_device() {
    let server = TestServer::start().await;
    let (judge, h) = server.judge_with_open_hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let join = server.ws_url(&format!("/ws/join/{wtok}"));
    let old = WsClient::connect(&join, None).await;
    old.send(json!({"type": "hello", "public_key": pubkey(&key(1))}));
    old.wait_type("lobby").await;
    ping_pong(&old).await;
    judge.act(&h, &wid, "admit").await;
    old.wait_type("admitted").await;

    // The witness's laptop fails; they open the link on their phone.
    let new = WsClient::connect(&join, None).await;
    new.wait_type("challenge").await;
    new.send(json!({"type": "hello", "public_key": pubkey(&key(2))}));
    new.wait_type("device_unrecognized").await;
    // Refusing is not possible without a waiting device; accepting is the court's act.
    judge.act(&h, &wid, "approve-device").await;
    assert_eq!(old.wait_closed().await.0, close::REPLACED);
    // The phone waits to be admitted again, then signs with its own key.
    new.wait_nth("welcome", 2).await;
    judge.act(&h, &wid, "admit").await;
    new.wait_type("admitted").await;
    let (status, body) = judge
        .call(
            axum::http::Method::POST,
            &format!("/api/hearings/{h}/participants/{wid}/approve-device"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::CONFLICT, "{body}");

    let log = server.log_entries(&h);
    let about: Vec<String> = entries_about(&log, &wid)
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| ["key_bound", "device_approved", "join_refused"].contains(&t.as_str()))
        .collect();
    assert_eq!(
        about,
        ["key_bound", "join_refused", "device_approved", "key_bound"]
    );
    let last_key = log
        .iter()
        .rev()
        .find(|e| e["type"] == "key_bound" && e["participant"] == wid.as_str())
        .unwrap();
    assert_eq!(last_key["public_key"], pubkey(&key(2)));
    new.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_holds_across_reconnections_until_the_court_admits() {
    let server = TestServer::start().await;
    let (judge, h) = server.judge_with_open_hearing().await;
    let (pid, tok) = judge.invite(&h, "Someone", "defence").await;
    let join = server.ws_url(&format!("/ws/join/{tok}"));
    let c = WsClient::connect(&join, None).await;
    c.wait_type("lobby").await;
    judge.act(&h, &pid, "deny").await;
    assert_eq!(c.wait_closed().await.0, close::DENIED);
    // Reopening the link does not put them back in the waiting room.
    let again = WsClient::connect(&join, None).await;
    assert_eq!(again.wait_closed().await.0, close::DENIED);
    assert!(!again.messages().iter().any(|m| m["type"] == "lobby"));
    // The court changes its mind: admitted, the next connection arrives admitted.
    judge.act(&h, &pid, "admit").await;
    let back = WsClient::connect(&join, None).await;
    back.wait_type("admitted").await;
    let refused = server
        .log_entries(&h)
        .iter()
        .filter(|e| e["type"] == "join_refused" && e["participant"] == pid.as_str())
        .count();
    assert_eq!(refused, 1);
    back.close().await;
    server.stop().await;
}

/// Copies a bundle directory (files only, recursively).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// `sworn-verify --json <bundle>`: exit code and report.
fn sworn_verify(bundle: &std::path::Path) -> (Option<i32>, Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sworn-verify"))
        .arg("--json")
        .arg(bundle)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), report)
}

/// Issue #15 point 4: a browser without WebCrypto Ed25519 binds an ECDSA P-256 key
/// (`alg: "ES256"`); it proves its device and signs the oath with it; the sealed bundle
/// verifies, and a changed signature does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_p256_key_binds_proves_the_device_and_signs_the_oath() {
    use common::attest::{hello, p256_pubkey};
    let server = TestServer::start().await;
    let (judge, h) = server.judge_with_open_hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness P", "witness").await;
    let (j, _) = server.console(&judge, &h).await;
    j.send(json!({"type": "hello", "public_key": pubkey(&key(9))}));
    let join = server.ws_url(&format!("/ws/join/{wtok}"));
    let ec = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();

    // An unknown algorithm, or a P-256 key sent as Ed25519, binds nothing.
    let w = WsClient::connect(&join, None).await;
    w.send(json!({"type": "hello", "public_key": p256_pubkey(&ec), "alg": "RS256"}));
    w.wait_for("unknown alg refused", |m| {
        m["type"] == "error" && m["code"] == "bad_public_key"
    })
    .await;
    w.send(json!({"type": "hello", "public_key": p256_pubkey(&ec)}));
    w.wait_nth("error", 2).await;
    // The P-256 key binds the invitation.
    w.send(hello(&ec, json!({"display_name": "Witness P"})));
    w.wait_type("lobby").await;
    ping_pong(&w).await;
    judge.act(&h, &wid, "admit").await;
    w.wait_type("admitted").await;
    w.close().await;

    // The same browser comes back: its ECDSA proof of the challenge is accepted.
    let w = WsClient::connect(&join, None).await;
    let challenge = w.wait_type("challenge").await;
    prove_device(&w, &ec, &challenge);
    w.wait_type("admitted").await;
    assert!(
        !w.messages()
            .iter()
            .any(|m| m["type"] == "device_unrecognized")
    );

    // A statement signed by another P-256 key is refused; the oath with the bound one
    // is recorded.
    let other = p256::ecdsa::SigningKey::from_slice(&[0x43; 32]).unwrap();
    w.wait_type("checkpoint").await;
    let st = statement(
        "cosign",
        &h,
        &wid,
        &latest_checkpoint(&w),
        "seen",
        json!({}),
    );
    attest(&w, &other, &st);
    w.wait_for("foreign signature refused", |m| {
        m["type"] == "error" && m["code"] == "bad_attestation"
    })
    .await;
    administer_oath(&j, &w, &ec, &h, &wid).await;

    let log = server.log_entries(&h);
    let bound: Vec<&Value> = log
        .iter()
        .filter(|e| e["type"] == "key_bound" && e["participant"] == wid.as_str())
        .collect();
    assert_eq!(bound.len(), 1, "{bound:?}");
    assert_eq!(bound[0]["alg"], "ES256");
    assert_eq!(bound[0]["public_key"], p256_pubkey(&ec));
    // The judge's Ed25519 key_bound has no alg: old bytes unchanged.
    assert!(
        log.iter()
            .filter(|e| e["type"] == "key_bound" && e["participant"] != wid.as_str())
            .all(|e| e.get("alg").is_none())
    );

    let bundle = server.close_and_seal(&judge, &h).await;
    for c in [j, w] {
        c.close().await;
    }
    let (code, report) = sworn_verify(&bundle);
    assert_eq!(
        code,
        Some(sworn::verify_cli::EXIT_VALID_KEY_NOT_PINNED),
        "{report:#}"
    );
    let oath = std::fs::read_dir(bundle.join("attestations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.ends_with("-oath.json"))
        .unwrap();
    let stem = oath.trim_end_matches(".json");
    let pem = std::fs::read_to_string(bundle.join(format!("attestations/{stem}.pub.pem"))).unwrap();
    assert_eq!(
        sworn::verify::keys::ParticipantKey::from_pem(&pem).unwrap(),
        sworn::verify::keys::ParticipantKey::Es256(*ec.verifying_key())
    );

    // The oath's signature changed (in the log entry and its .sig file alike): the
    // attestation check fails on the ECDSA verification itself.
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bundle");
    copy_dir(&bundle, &bad);
    let sig_p = bad.join(format!("attestations/{stem}.sig"));
    let sig = std::fs::read(&sig_p).unwrap();
    let mut flipped = sig.clone();
    flipped[40] ^= 0x01;
    std::fs::write(&sig_p, &flipped).unwrap();
    let entries = std::fs::read_to_string(bad.join("log/entries.jsonl")).unwrap();
    let (from, to) = (
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &sig),
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &flipped),
    );
    assert!(entries.contains(&from));
    std::fs::write(bad.join("log/entries.jsonl"), entries.replace(&from, &to)).unwrap();
    let (code, report) = sworn_verify(&bad);
    assert_eq!(code, Some(1), "{report:#}");
    let att = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "attestations")
        .unwrap();
    assert_eq!(att["status"], "fail", "{att:#}");
    assert!(att.to_string().contains("does not verify"), "{att:#}");
    server.stop().await;
}
