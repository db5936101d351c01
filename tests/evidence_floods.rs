//! Signalling cannot flood the evidence (issue #12, scenarios 6, 8 and 13): a socket that
//! sends faster than any page is closed; statements come only from admitted
//! participants; a console binds one key per connection; checkpoints (each a signature,
//! an fsync and a TSA request) are made at most once a second however often they are
//! asked for; names that display as something else are refused and renames are logged;
//! the record says when its time-stamps come from the built-in TSA.
//! Signalling only (WebSocket clients, no peer connection).
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::attest::{attest, pubkey, statement};
use common::ws::WsClient;
use ed25519_dalek::SigningKey;
use serde_json::json;
use std::time::Instant;
use sworn::hearing::protocol::close;

fn key(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[i; 32])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_reach_neither_the_hearing_nor_the_log() {
    let server = TestServer::start().await;
    let (judge, h) = server.judge_with_open_hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let (j, jid) = server.console(&judge, &h).await;
    // One key per console connection: the second and third are refused.
    for k in 1..=3 {
        j.send(json!({"type": "hello", "public_key": pubkey(&key(k))}));
    }
    j.wait_for("second key refused", |m| {
        m["type"] == "error" && m["code"] == "key_already_bound"
    })
    .await;

    // A participant in the waiting room cannot put statements in the record.
    let w = WsClient::connect(&server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    w.send(json!({"type": "hello", "public_key": pubkey(&key(9))}));
    w.wait_type("lobby").await;
    let st = statement(
        "cosign",
        &h,
        &wid,
        &json!({"size": 1, "root": "AA=="}),
        "I co-sign.",
        json!({}),
    );
    attest(&w, &key(9), &st);
    w.wait_for("refused", |m| {
        m["type"] == "error" && m["code"] == "not_admitted"
    })
    .await;
    judge.act(&h, &wid, "admit").await;
    w.wait_type("admitted").await;

    // Checkpoints asked for 40 times (a rename logs an entry, the oath request asks for
    // a checkpoint) are made at most once a second.
    let cps = || {
        std::fs::read_dir(
            server
                .dir
                .path()
                .join("data/hearings")
                .join(&h)
                .join("log/checkpoints"),
        )
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".note")
        })
        .count()
    };
    let before = cps();
    let start = Instant::now();
    for i in 0..40 {
        w.send(json!({"type": "hello", "display_name": format!("Witness {i}")}));
        j.send(json!({"type": "start_oath", "participant": wid, "form": "oath"}));
        w.wait_nth("oath_request", i + 1).await;
    }
    let made = cps() - before;
    let allowed = start.elapsed().as_secs() as usize + 2;
    assert!(
        made <= allowed,
        "{made} checkpoints in {:?}",
        start.elapsed()
    );

    // A socket flooding messages is closed; the hearing goes on.
    for _ in 0..400 {
        w.send(json!({"type": "ping"}));
    }
    // The close frame may be lost to the reset of a socket closed with unread data.
    let (code, _) = w.wait_closed().await;
    assert!([close::TOO_MANY_MESSAGES, 1006].contains(&code), "{code}");
    let pongs = w.messages().iter().filter(|m| m["type"] == "pong").count();
    assert!(pongs <= 200, "{pongs} of 400 pings answered");
    j.send(json!({"type": "ping"}));
    j.wait_type("pong").await;

    let log = server.log_entries(&h);
    let keys_of = |p: &str| {
        log.iter()
            .filter(|e| e["type"] == "key_bound" && e["participant"] == p)
            .count()
    };
    assert_eq!(keys_of(&jid), 1);
    assert_eq!(keys_of(&wid), 1);
    assert!(!log.iter().any(|e| e["type"] == "attestation"));
    let renames = log
        .iter()
        .filter(|e| e["type"] == "participant_renamed" && e["participant"] == wid.as_str())
        .count();
    assert_eq!(renames, 40, "every rename is in the record");
    j.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_display_as_something_else_are_refused() {
    let server = TestServer::start().await;
    let (judge, h) = server.judge_with_open_hearing().await;
    for bad in [
        "Alice\u{202E}ecilA",
        "Bob\u{200B}",
        "\u{2066}Carol",
        "Dave\u{FEFF}",
    ] {
        let (status, body) = judge
            .call(
                axum::http::Method::POST,
                &format!("/api/hearings/{h}/participants"),
                Some(json!({"display_name": bad, "role": "witness"})),
            )
            .await;
        assert_eq!(
            status,
            axum::http::StatusCode::BAD_REQUEST,
            "{bad:?}: {body}"
        );
    }
    let (wid, wtok) = judge.invite(&h, "محمد عبد الله", "witness").await;
    let w = WsClient::connect(&server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    w.send(json!({"type": "hello", "display_name": "Eve\u{200B}Mallory"}));
    w.wait_for("bad name", |m| {
        m["type"] == "error" && m["code"] == "bad_name"
    })
    .await;
    w.send(json!({"type": "hello", "display_name": "Пётр Ильич"}));
    w.wait_type("lobby").await;
    w.send(json!({"type": "ping"}));
    w.wait_type("pong").await;
    let log = server.log_entries(&h);
    let renames: Vec<&str> = log
        .iter()
        .filter(|e| e["type"] == "participant_renamed" && e["participant"] == wid.as_str())
        .map(|e| e["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(renames, ["Пётр Ильич"]);
    // The record says where its time-stamps come from, and the minutes say what that
    // means when it is the built-in TSA.
    assert_eq!(log[0]["time_stamping"], "builtin");
    let entries = std::fs::read(
        server
            .dir
            .path()
            .join("data/hearings")
            .join(&h)
            .join("log/entries.jsonl"),
    )
    .unwrap();
    let minutes = sworn::evidence::minutes::render_minutes(&entries).unwrap();
    assert!(
        minutes.contains("built-in time-stamping authority, kept by the same operator"),
        "{minutes}"
    );
    w.close().await;
    server.stop().await;
}
