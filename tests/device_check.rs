//! The device check on record (#13 point 5): the join page reports camera, microphone,
//! speaker, round trip and bitrate once per connection (`device_check` message); the
//! server bounds every field and logs a `device_check` entry, at once when the hearing
//! is open, at opening when the check came first; a second report on the same
//! connection, a value out of bounds or a result outside the fixed set is refused and
//! never reaches the record. The minutes list the check under "Technical conditions",
//! and both verifiers know the entry (and refuse a result outside the set).
//! Signalling only.
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::attest::pubkey;
use common::ws::WsClient;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use sworn::domain::StaffRole;
use sworn::hearing::protocol::close;
use sworn::verify::entry;

async fn join(server: &TestServer, tok: &str, seed: u8) -> WsClient {
    let w = WsClient::connect(&server.ws_url(&format!("/ws/join/{tok}")), None).await;
    let key = SigningKey::from_bytes(&[seed; 32]);
    w.send(json!({"type": "hello", "public_key": pubkey(&key)}));
    w.wait_type("welcome").await;
    w
}

/// The same device again (its invitation is bound): answers the challenge.
async fn rejoin(server: &TestServer, tok: &str, seed: u8) -> WsClient {
    let w = WsClient::connect(&server.ws_url(&format!("/ws/join/{tok}")), None).await;
    let ch = w.wait_type("challenge").await;
    common::attest::prove_device(&w, &SigningKey::from_bytes(&[seed; 32]), &ch);
    w.wait_type("welcome").await;
    w
}

fn checks(server: &TestServer, h: &str) -> Vec<Value> {
    server
        .log_entries(h)
        .into_iter()
        .filter(|e| e["type"] == "device_check")
        .collect()
}

/// Waits (bounded) until the log holds `n` device_check entries.
async fn wait_checks(server: &TestServer, h: &str, n: usize) -> Vec<Value> {
    for _ in 0..1000 {
        let path = server
            .dir
            .path()
            .join("data/hearings")
            .join(h)
            .join("log/entries.jsonl");
        if path.is_file() {
            let c = checks(server, h);
            if c.len() >= n {
                return c;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{n} device_check entries not logged");
}

async fn error_code(w: &WsClient, nth: usize) -> String {
    w.wait_nth("error", nth).await["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_check_goes_on_record_once_per_connection_within_bounds() {
    let server = TestServer::start().await;
    let (judge, h) = server.judge_with_open_hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let w = join(&server, &wtok, 7).await;
    w.send(
        json!({"type": "device_check", "camera": "ok", "microphone": "ok", "speaker": "not_tested",
                  "rtt_ms": 42, "bitrate_kbps": 1500}),
    );
    let c = wait_checks(&server, &h, 1).await;
    assert_eq!(
        c[0],
        json!({"v": 1, "hearing": h, "seq": c[0]["seq"], "time": c[0]["time"], "type": "device_check",
               "participant": wid, "camera": "ok", "microphone": "ok", "speaker": "not_tested",
               "rtt_ms": 42, "bitrate_kbps": 1500})
    );
    // Out of bounds: refused with a code, nothing logged (checked before "once").
    w.send(json!({"type": "device_check", "camera": "ok", "microphone": "ok", "speaker": "ok", "rtt_ms": 60_001}));
    assert_eq!(error_code(&w, 1).await, "bad_device_check");
    w.send(json!({"type": "device_check", "camera": "ok", "microphone": "ok", "speaker": "ok", "bitrate_kbps": 10_000_001u64}));
    assert_eq!(error_code(&w, 2).await, "bad_device_check");
    // A second report on the same connection.
    w.send(json!({"type": "device_check", "camera": "failed", "microphone": "failed", "speaker": "failed"}));
    assert_eq!(error_code(&w, 3).await, "device_check_done");
    // A new connection may report again (the page reconnected): no measurement is fine.
    w.close().await;
    let w2 = rejoin(&server, &wtok, 7).await;
    w2.send(json!({"type": "device_check", "camera": "failed", "microphone": "not_tested", "speaker": "ok"}));
    let c = wait_checks(&server, &h, 2).await;
    assert_eq!(c[1]["camera"], "failed");
    assert!(c[1].get("rtt_ms").is_none() && c[1].get("bitrate_kbps").is_none());
    // Garbage never reaches the record: the socket is closed as a bad message.
    for bad in [
        json!({"type": "device_check", "camera": "great", "microphone": "ok", "speaker": "ok"}),
        json!({"type": "device_check", "camera": "ok", "microphone": "ok", "speaker": "ok", "rtt_ms": -1}),
        json!({"type": "device_check", "camera": "ok", "microphone": "ok", "speaker": "ok", "rtt_ms": 1.5}),
        json!({"type": "device_check", "camera": "ok", "microphone": "ok", "speaker": "ok", "note": "<script>"}),
        json!({"type": "device_check", "camera": "ok", "microphone": "ok"}),
    ] {
        let w = rejoin(&server, &wtok, 7).await;
        w.send(bad.clone());
        assert_eq!(w.wait_closed().await.0, close::BAD_MESSAGE, "{bad}");
    }
    let (_, _) = server.console(&judge, &h).await;
    assert_eq!(checks(&server, &h).len(), 2, "nothing else was logged");
    // The minutes list the checks under technical conditions.
    let log = std::fs::read(
        server
            .dir
            .path()
            .join("data/hearings")
            .join(&h)
            .join("log/entries.jsonl"),
    )
    .unwrap();
    let html = sworn::evidence::minutes::render_minutes(&log).unwrap();
    let tech = html.split("<h2>Technical conditions</h2>").nth(1).unwrap();
    assert!(
        tech.contains(&format!("device check of {wid}: camera ok, microphone ok, speaker not tested, round trip 42 ms, bitrate 1500 kbit/s")),
        "{html}"
    );
    assert!(tech.contains(&format!("device check of {wid}: camera failed, microphone not tested, speaker ok, round trip not measured, bitrate not measured")));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_made_before_the_hearing_opens_is_logged_when_it_opens() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let w = join(&server, &wtok, 9).await;
    w.send(json!({"type": "device_check", "camera": "ok", "microphone": "ok", "speaker": "ok", "rtt_ms": 0}));
    // Round trip through the hearing task: the check was handled before the ping.
    w.send(json!({"type": "ping"}));
    w.wait_type("pong").await;
    judge.open(&h).await;
    let c = wait_checks(&server, &h, 1).await;
    assert_eq!(
        (c[0]["participant"].as_str(), c[0]["rtt_ms"].as_u64()),
        (Some(wid.as_str()), Some(0))
    );
    let entries = server.log_entries(&h);
    let joined = entries
        .iter()
        .position(|e| e["type"] == "participant_joined" && e["participant"] == wid.as_str())
        .unwrap();
    assert_eq!(
        entries[joined + 1]["type"],
        "device_check",
        "right after the join"
    );
    server.stop().await;
}

#[test]
fn the_verifier_knows_the_entry_and_refuses_a_result_outside_the_set() {
    let line = |cam: &str| {
        format!(
            r#"{{"camera":"{cam}","hearing":"h","microphone":"ok","participant":"p","rtt_ms":5,"seq":0,"speaker":"ok","time":"2026-11-29T17:30:00.000Z","type":"device_check","v":1}}"#
        )
    };
    let e = entry::decode(line("ok").as_bytes()).unwrap();
    assert_eq!(e.body.type_name(), "device_check");
    assert_eq!(entry::check_fields(&e.body), Ok(()));
    let e = entry::decode(line("great").as_bytes()).unwrap();
    assert!(entry::check_fields(&e.body).is_err());
    let neg = line("ok").replace("\"rtt_ms\":5", "\"rtt_ms\":-5");
    assert!(entry::decode(neg.as_bytes()).is_err());
}
