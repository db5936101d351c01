//! The judge confirms the official's identity attestation: the court's console learns
//! the attestation (subject, method, seq) in `attested_by`; the judge's signed
//! `identity` statement with `"confirms": <seq>` is recorded and logged as an
//! `identity_attested` entry by the judge, method `confirmed`; the minutes say
//! "confirmed by the judge". A witness or prosecutor cannot confirm (policy), and a
//! confirmation naming no official's attestation of that witness is refused.
//! Runs in a loopback-only network namespace (WebRTC peers; scripts/test).
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::attest::{attest, latest_checkpoint, pubkey, statement};
use common::peer::{Peer, client_api};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use std::time::Duration;
use sworn::domain::StaffRole;

/// Number of messages of `type` with `code` so far.
fn count(p: &Peer, t: &str, code: &str) -> usize {
    p.messages()
        .iter()
        .filter(|m| m["type"] == t && (code.is_empty() || m["code"] == code))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_judge_confirms_the_officials_identity_attestation() {
    let server = TestServer::start_with(|c| c.checkpoint_interval = Duration::from_secs(1)).await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let (oid, otok) = judge.invite(&h, "Official O", "official").await;
    let (pid, ptok) = judge.invite(&h, "Prosecutor P", "prosecutor").await;
    let api = client_api();
    let keys: Vec<SigningKey> = (1u8..=4)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();

    let j = Peer::connect(
        &api,
        &server.ws_url(&format!("/ws/hearings/{h}")),
        judge.cookie.as_deref(),
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
    let mut peers = Vec::new();
    for (tok, name, k) in [
        (&wtok, "Witness W", &keys[1]),
        (&otok, "Official O", &keys[2]),
        (&ptok, "Prosecutor P", &keys[3]),
    ] {
        let p = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{tok}")), None).await;
        p.send(json!({"type": "hello", "display_name": name, "public_key": pubkey(k)}));
        p.wait_type("lobby").await;
        peers.push(p);
    }
    for p in [&wid, &oid, &pid] {
        judge
            .post(
                &format!("/api/hearings/{h}/participants/{p}/admit"),
                json!({}),
            )
            .await;
    }
    let [w, o, pr] = <[Peer; 3]>::try_from(peers).ok().unwrap();
    for p in [&w, &o, &pr] {
        p.wait_type("admitted").await;
    }
    o.wait_type("checkpoint").await;
    j.wait_type("checkpoint").await;

    // The official attests; the judge's console learns subject, method and seq.
    let st = statement(
        "identity",
        &h,
        &oid,
        &latest_checkpoint(&o),
        "I have checked the identity of Witness W against the original of their passport. Present in the room: the witness and me.",
        json!({"subject": wid, "method": "passport"}),
    );
    attest(&o, &keys[2], &st);
    let by = j
        .wait_for("attested_by identity", |m| {
            m["type"] == "attested_by" && m["kind"] == "identity"
        })
        .await;
    assert_eq!(by["participant"], oid.as_str());
    assert_eq!(by["subject"], wid.as_str());
    assert_eq!(by["method"], "passport");
    let seq = by["seq"]
        .as_u64()
        .expect("seq of the identity_attested entry");

    // A witness or a prosecutor cannot confirm (policy): refused, nothing recorded.
    j.wait_for("a checkpoint after the attestation", |m| {
        m["type"] == "checkpoint" && m["checkpoint"]["size"].as_u64() > Some(seq)
    })
    .await;
    for (p, id, k) in [(&w, &wid, &keys[1]), (&pr, &pid, &keys[3])] {
        let st = statement(
            "identity",
            &h,
            id,
            &latest_checkpoint(p),
            "I confirm the identity.",
            json!({"subject": wid, "confirms": seq}),
        );
        attest(p, k, &st);
        p.wait_for("forbidden", |m| m["code"] == "forbidden").await;
    }

    // The judge's confirmation must name an official's attestation of this witness.
    let cp = latest_checkpoint(&j);
    let bad = [
        json!({"subject": wid}),                        // no "confirms"
        json!({"subject": wid, "confirms": 0}),         // hearing_opened, not an attestation
        json!({"subject": wid, "confirms": 1_000_000}), // no such entry
        json!({"subject": oid, "confirms": seq}),       // another person
    ];
    for (i, extra) in bad.iter().enumerate() {
        let st = statement(
            "identity",
            &h,
            &jid,
            &cp,
            "The judge confirms.",
            extra.clone(),
        );
        attest(&j, &keys[0], &st);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while count(&j, "error", "bad_attestation") < i + 1 {
            assert!(tokio::time::Instant::now() < deadline, "{extra} accepted?");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(
        count(&j, "attested", ""),
        0,
        "nothing recorded for bad confirmations"
    );

    let st = statement(
        "identity",
        &h,
        &jid,
        &cp,
        "As presiding judge I confirm the identity of Witness W, attested by Official O (passport).",
        json!({"subject": wid, "confirms": seq}),
    );
    attest(&j, &keys[0], &st);
    j.wait_for("confirmation recorded", |m| {
        m["type"] == "attested" && m["kind"] == "identity"
    })
    .await;

    judge
        .post(&format!("/api/hearings/{h}/close"), json!({}))
        .await;
    let bundle = server.sealed(&h).await;
    for p in [j, w, o, pr] {
        p.close().await;
    }

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sworn-verify"))
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(sworn::verify_cli::EXIT_VALID_KEY_NOT_PINNED),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let entries = std::fs::read(bundle.join("log/entries.jsonl")).unwrap();
    let lines: Vec<Value> = entries
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let identity: Vec<&Value> = lines
        .iter()
        .filter(|e| e["type"] == "identity_attested")
        .collect();
    assert_eq!(identity.len(), 2, "{identity:?}");
    assert_eq!(identity[0]["seq"].as_u64(), Some(seq));
    assert_eq!(
        (&identity[0]["by"], &identity[0]["method"]),
        (&json!(oid), &json!("passport"))
    );
    assert_eq!(
        (
            &identity[1]["participant"],
            &identity[1]["by"],
            &identity[1]["method"]
        ),
        (&json!(wid), &json!(jid), &json!("confirmed"))
    );
    // Two identity statements (official, judge) are stored as attestations; the judge's
    // names the official's entry.
    let mut judge_statement = None;
    for e in std::fs::read_dir(bundle.join("attestations")).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with("-identity.json") {
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            if v["participant"] == jid.as_str() {
                judge_statement = Some(v);
            }
        }
    }
    assert_eq!(judge_statement.unwrap()["confirms"].as_u64(), Some(seq));
    let minutes = sworn::evidence::minutes::render_minutes(&entries).unwrap();
    assert!(minutes.contains("confirmed by the judge"), "{minutes}");
    assert!(minutes.contains("attested by"), "{minutes}");
}
