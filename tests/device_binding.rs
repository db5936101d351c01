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
