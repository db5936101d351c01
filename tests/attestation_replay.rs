//! The judge's console survives a reload: when the court's console (re)connects, the
//! server sends an `attestations` message read back from the evidence log: the signed
//! statements (oath, identity, ...), the co-signature count, and every official's
//! identity attestation with the judge's confirmation once there is one. Checked
//! against the log on disk; a witness who reconnects gets nothing of it.
//! Signalling only (WebSocket clients, no peer connection).
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::attest::{administer_oath, attest, latest_checkpoint, prove_device, pubkey, statement};
use common::ws::WsClient;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use std::time::Duration;
use sworn::domain::StaffRole;

/// (kind, signer) of every non-cosign statement in the replay.
fn statements(replay: &Value) -> Vec<(String, String)> {
    replay["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_owned(),
                s["participant"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The judge's console reconnects (a reload): a new socket, the same account.
async fn reload(server: &TestServer, old: WsClient, h: &str, cookie: Option<&str>) -> WsClient {
    old.close().await;
    let j = WsClient::connect(&server.ws_url(&format!("/ws/hearings/{h}")), cookie).await;
    j.wait_type("welcome").await;
    j
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_console_gets_the_attestations_back_from_the_log() {
    let server = TestServer::start_with(|c| c.checkpoint_interval = Duration::from_secs(1)).await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let cookie = judge.cookie.clone();
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let (oid, otok) = judge.invite(&h, "Official O", "official").await;
    let keys: Vec<SigningKey> = (1u8..=3)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();

    let j = WsClient::connect(
        &server.ws_url(&format!("/ws/hearings/{h}")),
        cookie.as_deref(),
    )
    .await;
    let jid = j.wait_type("welcome").await["participant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    j.send(json!({"type": "hello", "public_key": pubkey(&keys[0])}));
    judge
        .post(&format!("/api/hearings/{h}/open"), json!({}))
        .await;
    let mut others = Vec::new();
    for (tok, id, name, k) in [
        (&wtok, &wid, "Witness W", &keys[1]),
        (&otok, &oid, "Official O", &keys[2]),
    ] {
        let c = WsClient::connect(&server.ws_url(&format!("/ws/join/{tok}")), None).await;
        c.send(json!({"type": "hello", "display_name": name, "public_key": pubkey(k)}));
        c.wait_type("lobby").await;
        judge
            .post(
                &format!("/api/hearings/{h}/participants/{id}/admit"),
                json!({}),
            )
            .await;
        c.wait_type("admitted").await;
        c.wait_type("checkpoint").await;
        others.push(c);
    }
    let [w, o] = <[WsClient; 2]>::try_from(others).ok().unwrap();

    // The official attests the witness's identity; the witness takes the oath and
    // co-signs once. The judge's console sees the attestation live.
    let st = statement(
        "identity",
        &h,
        &oid,
        &latest_checkpoint(&o),
        "I have checked the identity of Witness W against the original of their passport. Present in the room: the witness and me.",
        json!({"subject": wid, "method": "passport"}),
    );
    attest(&o, &keys[2], &st);
    o.wait_type("attested").await;
    let seq = j
        .wait_for("attested_by identity", |m| {
            m["type"] == "attested_by" && m["kind"] == "identity"
        })
        .await["seq"]
        .as_u64()
        .unwrap();
    administer_oath(&j, &w, &keys[1], &h, &wid).await;
    let st = statement(
        "cosign",
        &h,
        &wid,
        &latest_checkpoint(&w),
        "I co-sign.",
        json!({}),
    );
    attest(&w, &keys[1], &st);
    w.wait_for("cosign recorded", |m| {
        m["type"] == "attested" && m["kind"] == "cosign"
    })
    .await;

    // Reload before confirming: the attestation is back, still to be confirmed.
    let j = reload(&server, j, &h, cookie.as_deref()).await;
    let replay = j.wait_type("attestations").await;
    assert_eq!(
        replay["identities"],
        json!([{"participant": oid, "subject": wid, "method": "passport", "seq": seq, "confirmed": null}]),
        "{replay}"
    );
    assert_eq!(
        statements(&replay),
        [
            ("identity".into(), oid.clone()),
            ("oath".into(), wid.clone())
        ]
    );
    assert_eq!(replay["cosigns"], 1);
    // The same facts as the log on disk: seqs and times of the attestation entries.
    let log = server.log_entries(&h);
    let logged: Vec<(u64, &str)> = log
        .iter()
        .filter(|e| e["type"] == "attestation" && e["kind"] != "cosign")
        .map(|e| (e["seq"].as_u64().unwrap(), e["time"].as_str().unwrap()))
        .collect();
    let replayed: Vec<(u64, &str)> = replay["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["seq"].as_u64().unwrap(), s["time"].as_str().unwrap()))
        .collect();
    assert_eq!(replayed, logged);
    assert_eq!(log[seq as usize]["type"], "identity_attested");

    // The judge confirms after the reload, then reloads again: reported as confirmed.
    j.send(json!({"type": "hello", "public_key": pubkey(&keys[0])}));
    let st = statement(
        "identity",
        &h,
        &jid,
        &latest_checkpoint(&j),
        "As presiding judge, I confirm the identity of Witness W, as attested by Official O (Passport).",
        json!({"subject": wid, "confirms": seq}),
    );
    attest(&j, &keys[0], &st);
    j.wait_for("confirmation recorded", |m| {
        m["type"] == "attested" && m["kind"] == "identity"
    })
    .await;
    let j = reload(&server, j, &h, cookie.as_deref()).await;
    let replay = j.wait_type("attestations").await;
    let confirmation = server
        .log_entries(&h)
        .into_iter()
        .find(|e| e["type"] == "identity_attested" && e["method"] == "confirmed")
        .expect("the judge's confirmation is logged");
    assert_eq!(confirmation["by"], jid.as_str());
    assert_eq!(
        replay["identities"],
        json!([{"participant": oid, "subject": wid, "method": "passport", "seq": seq,
                "confirmed": {"by": jid, "seq": confirmation["seq"]}}]),
        "{replay}"
    );
    assert_eq!(
        statements(&replay),
        [
            ("identity".into(), oid.clone()),
            ("oath".into(), wid.clone()),
            ("identity".into(), jid.clone())
        ]
    );

    // A witness who reconnects is not the court: no replay of others' statements.
    w.close().await;
    let w = WsClient::connect(&server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    prove_device(&w, &keys[1], &w.wait_type("challenge").await);
    w.wait_type("admitted").await;
    w.send(json!({"type": "ping"}));
    w.wait_type("pong").await;
    assert!(
        !w.messages().iter().any(|m| m["type"] == "attestations"),
        "{:?}",
        w.messages()
    );

    for c in [j, w, o] {
        c.close().await;
    }
    server.stop().await;
}
