//! A hearing task that panics is supervised (issue #12, scenario 14): the panic stays
//! inside that hearing, a new task takes over from the hearing's log at once, the record
//! says the task was restarted, participants reconnect to it, and other hearings never
//! notice. (The panic is injected through a debug-build-only handle method: nothing a
//! peer sends can reach it.)
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::attest::{prove_device, pubkey};
use common::ws::WsClient;
use ed25519_dalek::SigningKey;
use serde_json::json;
use std::time::{Duration, Instant};
use sworn::domain::HearingId;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_hearing_task_is_restarted_and_the_record_says_so() {
    let server = TestServer::start().await;
    let (judge, h) = server.judge_with_open_hearing().await;
    let other = judge.hearing().await;
    judge.open(&other).await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let key = SigningKey::from_bytes(&[4; 32]);
    let join = server.ws_url(&format!("/ws/join/{wtok}"));
    let w = WsClient::connect(&join, None).await;
    w.send(json!({"type": "hello", "public_key": pubkey(&key)}));
    w.wait_type("lobby").await;
    judge.act(&h, &wid, "admit").await;
    w.wait_type("admitted").await;
    w.send(json!({"type": "ping"}));
    w.wait_type("pong").await; // the hello (and its key) was handled before
    let (j2, _) = server.console(&judge, &other).await;

    let id = HearingId::parse(&h).unwrap();
    let before = server.state.hearings.running(&id).unwrap();
    before.panic_for_test().await;
    // The witness's socket ends with the task...
    w.wait_closed().await;
    // ...a new task is running without anyone asking for it...
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = server.state.hearings.running(&id);
        let restarted = match now {
            Some(h) => h.stats().await.is_ok(),
            None => false,
        };
        if restarted && before.stats().await.is_err() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the hearing task was not restarted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...and the record says what happened.
    let log = server.log_entries(&h);
    assert!(
        log.iter().any(|e| e["type"] == "recording_degraded"
            && e["detail"].as_str().unwrap_or("").contains("restarted")),
        "{log:?}"
    );
    // The witness's page reconnects to the new task with its bound key.
    let w = WsClient::connect(&join, None).await;
    prove_device(&w, &key, &w.wait_type("challenge").await);
    w.wait_type("lobby").await;
    // The other hearing never noticed.
    j2.send(json!({"type": "ping"}));
    j2.wait_type("pong").await;
    w.close().await;
    j2.close().await;
    server.stop().await;
}
