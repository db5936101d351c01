//! Rehearsals (#13 point 7, GA res. 53/112 para 7): a practice hearing the court opens
//! for a witness ahead of the day. It is marked as such on every answer the pages use
//! (hearing API, join API, the socket's welcome); its log is a scratch log outside the
//! evidence store (`<data>/rehearsals/`), deleted when it closes (or at the next start
//! if the server stopped mid-close); nothing is sealed, no grant can be made, and
//! retrieval is refused with `rehearsal_not_evidence`. Signalling only.
#![cfg(feature = "server")]

mod common;

use axum::http::{Method, StatusCode};
use common::TestServer;
use common::attest::pubkey;
use common::ws::WsClient;
use ed25519_dalek::SigningKey;
use serde_json::json;
use std::path::PathBuf;
use sworn::domain::{HearingId, StaffRole};

fn rehearsal_body() -> serde_json::Value {
    json!({"case_ref": "CR-R", "mla_ref": "MLA/R", "requesting_state": "FR", "requested_state": "ES",
           "scheduled_at": "2026-12-01T09:00:00Z", "language": "en", "rehearsal": true})
}

fn scratch(server: &TestServer, h: &str) -> PathBuf {
    server.dir.path().join("data/rehearsals/hearings").join(h)
}

fn evidence_dir(server: &TestServer, h: &str) -> PathBuf {
    server.dir.path().join("data/hearings").join(h)
}

/// Waits (bounded) until `cond` holds.
async fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("never: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rehearsal_is_marked_keeps_nothing_and_cannot_be_retrieved() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let pros = server.staff("pros", StaffRole::Prosecutor).await;
    let h = judge.post("/api/hearings", rehearsal_body()).await;
    assert_eq!(h["rehearsal"], true);
    let h = h["id"].as_str().unwrap().to_owned();
    assert_eq!(
        judge.get("/api/hearings").await["hearings"][0]["rehearsal"],
        true
    );
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    assert_eq!(
        server.anonymous().get(&format!("/api/join/{wtok}")).await["hearing"]["rehearsal"],
        true
    );

    judge.open(&h).await;
    let w = WsClient::connect(&server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    w.send(json!({"type": "hello", "public_key": pubkey(&SigningKey::from_bytes(&[4; 32]))}));
    assert_eq!(w.wait_type("welcome").await["hearing"]["rehearsal"], true);
    judge.act(&h, &wid, "admit").await;
    w.wait_type("admitted").await;
    w.send(json!({"type": "device_check", "camera": "ok", "microphone": "ok", "speaker": "ok"}));
    // The practice runs on a scratch log, outside the evidence store.
    let log = scratch(&server, &h).join("log/entries.jsonl");
    until("the scratch log holds the device check", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("device_check"))
    })
    .await;
    assert!(
        !evidence_dir(&server, &h).exists(),
        "nothing in the evidence store"
    );
    let media = scratch(&server, &h).join("media");
    assert_eq!(
        std::fs::read_dir(&media).unwrap().count(),
        0,
        "nothing recorded"
    );

    // No grant, no retrieval, no portal entry.
    let (s, v) = judge
        .call(
            Method::POST,
            &format!("/api/hearings/{h}/grants"),
            Some(json!({"username": "pros"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("rehearsal_not_evidence"))
    );

    judge
        .post(&format!("/api/hearings/{h}/close"), json!({}))
        .await;
    let dir = scratch(&server, &h);
    until("the scratch log is deleted", || !dir.exists()).await;
    assert!(!evidence_dir(&server, &h).exists(), "no bundle");
    let hid = HearingId::parse(&h).unwrap();
    let record = judge.get(&format!("/api/hearings/{h}")).await["record"].clone();
    assert_eq!(record["stage"], "discarded", "{record}");
    assert_eq!(
        server
            .state
            .hearings
            .running(&hid)
            .unwrap()
            .sealed()
            .await
            .unwrap(),
        None,
        "never sealed"
    );

    // Even a grant that reached the database some other way retrieves nothing.
    let pid = server
        .state
        .store
        .user_by_name("pros")
        .await
        .unwrap()
        .unwrap()
        .id;
    let jid = server
        .state
        .store
        .user_by_name("judge")
        .await
        .unwrap()
        .unwrap()
        .id;
    server
        .state
        .store
        .create_grant("g-rehearsal", &hid, &pid, &jid, 0, None)
        .await
        .unwrap();
    for path in [
        format!("/api/portal/hearings/{h}"),
        format!("/api/portal/hearings/{h}/minutes"),
        format!("/api/portal/hearings/{h}/bundle.zip"),
    ] {
        let (s, v) = pros.call(Method::GET, &path, None).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("rehearsal_not_evidence")),
            "{path}"
        );
    }
    assert!(
        pros.get("/api/portal/hearings").await["hearings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rehearsal_closed_while_the_server_was_down_is_deleted_at_start() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.post("/api/hearings", rehearsal_body()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    judge.open(&h).await;
    let dir = scratch(&server, &h);
    until("the scratch log exists", || dir.join("log").is_dir()).await;
    let id = h.clone();
    let server = server
        .restart(move |data| {
            // The close reached the database but not the hearing task.
            let conn = rusqlite::Connection::open(data.join("sworn.sqlite3")).unwrap();
            conn.execute("UPDATE hearings SET state = 'closed' WHERE id = ?1", [&id])
                .unwrap();
        })
        .await;
    assert!(!scratch(&server, &h).exists());
    assert!(!evidence_dir(&server, &h).exists());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_runs_a_rehearsal_but_not_a_hearing() {
    // (A clerk opens, conducts from the console, and closes a rehearsal; none of that on a
    // hearing.)
    let server = TestServer::start().await;
    let _judge = server.staff("judge", StaffRole::Judge).await;
    let clerk = server.staff("clerk", StaffRole::Clerk).await;
    let pros = server.staff("pros", StaffRole::Prosecutor).await;
    let h = clerk.post("/api/hearings", rehearsal_body()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (wid, wtok) = clerk.invite(&h, "Witness W", "witness").await;
    clerk.open(&h).await;
    // The clerk conducts the rehearsal from the console, with the same pages.
    let (console, _) = server.console(&clerk, &h).await;
    let w = WsClient::connect(&server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    w.send(json!({"type": "hello", "public_key": pubkey(&SigningKey::from_bytes(&[5; 32]))}));
    w.wait_type("lobby").await;
    clerk.act(&h, &wid, "admit").await;
    w.wait_type("admitted").await;
    for path in [
        format!("/api/hearings/{h}/close"),
        format!("/api/hearings/{h}/participants/{wid}/mute"),
    ] {
        let (s, v) = pros.call(Method::POST, &path, Some(json!({}))).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden")),
            "{path}"
        );
    }
    console.close().await;
    clerk
        .post(&format!("/api/hearings/{h}/close"), json!({}))
        .await;
    let dir = scratch(&server, &h);
    until("the scratch log is deleted", || !dir.exists()).await;

    // A hearing (evidence) stays the judge's to open, close and conduct.
    let real = clerk.hearing().await;
    assert_eq!(
        server.console_status(clerk.cookie.as_deref(), &real).await,
        StatusCode::FORBIDDEN,
        "no console for a clerk on a hearing"
    );
    let (pid, _) = clerk.invite(&real, "Witness X", "witness").await;
    for path in [
        format!("/api/hearings/{real}/open"),
        format!("/api/hearings/{real}/close"),
        format!("/api/hearings/{real}/participants/{pid}/admit"),
    ] {
        let (s, v) = clerk.call(Method::POST, &path, Some(json!({}))).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden")),
            "{path}"
        );
    }
    server.stop().await;
}
