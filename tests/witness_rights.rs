//! The witness's rights over the signalling socket (#13 point 2), decided by the pure
//! transitions of `domain::rights`: the judge reads the rights (in the hearing's
//! language, or another asked for) and everyone in the hearing is shown the exact text
//! logged as `rights_explained`; the witness and their counsel claim privileges, the
//! prosecution and the defence object, each with a ground in words; the judge upholds or
//! overrules each with a reason and everyone sees the ruling. Who may is the policy's: a
//! witness cannot rule, a prosecutor cannot claim a privilege, counsel can. After a
//! server restart the pending claims come back and numbers are not given twice. The
//! sealed bundle verifies and the minutes list every step. Signalling only.
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::attest::pubkey;
use common::ws::WsClient;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

async fn join(server: &TestServer, tok: &str, seed: u8) -> WsClient {
    let w = WsClient::connect(&server.ws_url(&format!("/ws/join/{tok}")), None).await;
    let key = SigningKey::from_bytes(&[seed; 32]);
    w.send(json!({"type": "hello", "public_key": pubkey(&key)}));
    w
}

fn msg(act: &str, extra: Value) -> Value {
    let mut m = json!({"type": "rights", "act": act});
    if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    m
}

/// Sends a rights request and returns its `rights_done`.
async fn done(c: &WsClient, act: &str, extra: Value) -> Value {
    let before = c
        .messages()
        .iter()
        .filter(|m| m["type"] == "rights_done")
        .count();
    c.send(msg(act, extra));
    c.wait_nth("rights_done", before + 1).await
}

async fn refused(c: &WsClient, act: &str, extra: Value, code: &str) {
    let before = c.messages().iter().filter(|m| m["type"] == "error").count();
    c.send(msg(act, extra));
    let e = c.wait_nth("error", before + 1).await;
    assert_eq!(e["code"], code, "{act}: {e}");
}

/// Waits for a `rights` state matching `pred`.
async fn state(c: &WsClient, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    c.wait_for(what, |m| m["type"] == "rights" && pred(m)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rights_are_read_claimed_objected_ruled_and_on_the_record() {
    let server = TestServer::start().await;
    let (judge, h) = server.judge_with_open_hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let (cid, ctok) = judge.invite(&h, "Counsel C", "counsel").await;
    let (pid, ptok) = judge.invite(&h, "Prosecutor P", "prosecutor").await;
    let (did, dtok) = judge.invite(&h, "Defence D", "defence").await;
    let (j, jid) = server.console(&judge, &h).await;
    j.wait_type("rights").await;

    let mut admitted = Vec::new();
    for (id, tok, seed) in [
        (&wid, &wtok, 3),
        (&cid, &ctok, 4),
        (&pid, &ptok, 5),
        (&did, &dtok, 6),
    ] {
        let c = join(&server, tok, seed).await;
        c.wait_type("lobby").await;
        assert!(
            !c.messages().iter().any(|m| m["type"] == "rights"),
            "the waiting room is not shown claims and rulings"
        );
        judge.act(&h, id, "admit").await;
        c.wait_type("admitted").await;
        c.wait_type("rights").await;
        admitted.push(c);
    }
    let [w, c, p, d] = <[WsClient; 4]>::try_from(admitted).unwrap_or_else(|_| unreachable!());

    // Nobody but the judge reads the rights or rules.
    refused(&w, "explain", json!({}), "forbidden").await;
    refused(&c, "explain", json!({}), "forbidden").await;

    // The judge reads the rights in French (the hearing is in English by default).
    done(&j, "explain", json!({"language": "fr-CH"})).await;
    let read = state(&w, "rights read", |m| !m["explained"].is_null()).await;
    assert_eq!(read["explained"]["language"], "fr");
    let text = read["explained"]["text"].as_str().unwrap().to_owned();
    assert!(text.contains("refuser de témoigner") && text.contains("parjure"));

    // The witness claims a privilege; a prosecutor cannot; counsel can.
    refused(&w, "claim", json!({"text": "   "}), "bad_text").await;
    refused(&w, "claim", json!({"text": "a\u{202e}b"}), "bad_text").await;
    let n1 = done(
        &w,
        "claim",
        json!({"text": "My answer could incriminate my brother"}),
    )
    .await;
    assert_eq!(n1["number"], 1);
    refused(&p, "claim", json!({"text": "x"}), "forbidden").await;
    refused(&w, "object", json!({"text": "x"}), "forbidden").await;
    let n2 = done(
        &c,
        "claim",
        json!({"text": "Professional secrecy (art. 12 (1) (a))"}),
    )
    .await;
    assert_eq!(n2["number"], 2);
    // The judge's console lists both, with who and why.
    let pending = state(&j, "two pending", |m| {
        m["pending"].as_array().is_some_and(|a| a.len() == 2)
    })
    .await;
    assert_eq!(pending["pending"][0]["kind"], "privilege");
    assert_eq!(pending["pending"][0]["by"], wid.as_str());
    assert_eq!(
        pending["pending"][1]["ground"],
        "Professional secrecy (art. 12 (1) (a))"
    );

    // A witness cannot rule; the judge rules, with a reason; everyone sees it.
    refused(
        &w,
        "rule",
        json!({"number": 1, "upheld": true, "text": "mine"}),
        "forbidden",
    )
    .await;
    refused(&j, "rule", json!({"number": 1, "upheld": true}), "bad_text").await;
    refused(&j, "rule", json!({"number": 1, "text": "x"}), "bad_request").await;
    refused(
        &j,
        "rule",
        json!({"number": 9, "upheld": true, "text": "x"}),
        "unknown_matter",
    )
    .await;
    done(
        &j,
        "rule",
        json!({"number": 1, "upheld": true, "text": "The law of the requested State allows it"}),
    )
    .await;
    done(
        &j,
        "rule",
        json!({"number": 2, "upheld": false, "text": "No professional relationship is shown"}),
    )
    .await;
    for who in [&w, &c, &p, &d] {
        let s = state(who, "two rulings", |m| {
            m["rulings"].as_array().is_some_and(|a| a.len() == 2)
        })
        .await;
        assert_eq!(s["rulings"][0]["upheld"], true);
        assert_eq!(s["rulings"][1]["upheld"], false);
        assert_eq!(
            s["rulings"][1]["reason"],
            "No professional relationship is shown"
        );
        assert_eq!(s["rulings"][1]["judge"], jid.as_str());
        assert_eq!(s["pending"], json!([]));
    }

    // The prosecution and the defence object; the judge rules.
    let n3 = done(&p, "object", json!({"text": "The question is leading"})).await;
    assert_eq!(n3["number"], 3);
    let n4 = done(&d, "object", json!({"text": "Hearsay about the accused"})).await;
    assert_eq!(n4["number"], 4);
    refused(&c, "object", json!({"text": "x"}), "forbidden").await;
    done(
        &j,
        "rule",
        json!({"number": 3, "upheld": false, "text": "The question is open"}),
    )
    .await;
    done(
        &j,
        "rule",
        json!({"number": 4, "upheld": true, "text": "Hearsay is not admitted here"}),
    )
    .await;
    refused(
        &j,
        "rule",
        json!({"number": 4, "upheld": false, "text": "again"}),
        "unknown_matter",
    )
    .await;

    // The record.
    let log = server.log_entries(&h);
    let of = |t: &str| -> Vec<&Value> { log.iter().filter(|e| e["type"] == t).collect() };
    let explained = of("rights_explained");
    assert_eq!(explained.len(), 1);
    assert_eq!(
        explained[0]["text"],
        text.as_str(),
        "logged exactly as read"
    );
    assert_eq!(explained[0]["language"], "fr");
    assert_eq!(explained[0]["by"], jid.as_str());
    let claims: Vec<(u64, &str)> = of("privilege_claimed")
        .iter()
        .map(|e| (e["number"].as_u64().unwrap(), e["by"].as_str().unwrap()))
        .collect();
    assert_eq!(claims, vec![(1, wid.as_str()), (2, cid.as_str())]);
    let objections: Vec<(u64, &str)> = of("objection_raised")
        .iter()
        .map(|e| (e["number"].as_u64().unwrap(), e["by"].as_str().unwrap()))
        .collect();
    assert_eq!(objections, vec![(3, pid.as_str()), (4, did.as_str())]);
    let rulings: Vec<(u64, bool)> = of("ruling")
        .iter()
        .map(|e| {
            (
                e["number"].as_u64().unwrap(),
                e["upheld"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(rulings, vec![(1, true), (2, false), (3, false), (4, true)]);

    // Sealed: the bundle verifies and the minutes list it.
    for s in [w, c, p, d, j] {
        s.close().await;
    }
    let bundle = server.close_and_seal(&judge, &h).await;
    common::media::assert_verifies(env!("CARGO_BIN_EXE_sworn-verify"), &bundle);
    let minutes = common::media::minutes_of(&bundle);
    for needle in [
        "Rights of the witness, privileges and objections",
        "read the witness their rights (in fr)",
        "refuser de témoigner",
        "no. 1: ",
        "claimed a privilege to refuse to testify, on the ground: <q>My answer could incriminate my brother</q>",
        "no. 2 overruled by",
        "No professional relationship is shown",
        "objected, on the ground: <q>The question is leading</q>",
        "no. 4 upheld by",
    ] {
        assert!(minutes.contains(needle), "minutes lack {needle:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_claims_survive_a_restart_and_numbers_go_on() {
    let server = TestServer::start().await;
    let (judge, h) = server.judge_with_open_hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let w = join(&server, &wtok, 7).await;
    w.wait_type("lobby").await;
    judge.act(&h, &wid, "admit").await;
    w.wait_type("admitted").await;
    let n = done(&w, "claim", json!({"text": "Spouse of the accused"})).await;
    assert_eq!(n["number"], 1);
    w.close().await;

    let server = server.restart(|_| {}).await;
    let judge = server.login("judge", "judge-password-long").await;
    let (j, _) = server.console(&judge, &h).await;
    let s = state(&j, "the claim is still pending", |m| {
        m["pending"].as_array().is_some_and(|a| a.len() == 1)
    })
    .await;
    assert_eq!(s["pending"][0]["ground"], "Spouse of the accused");
    assert_eq!(s["pending"][0]["number"], 1);
    done(
        &j,
        "rule",
        json!({"number": 1, "upheld": true, "text": "Spousal privilege applies"}),
    )
    .await;
    let w = WsClient::connect(&server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    let ch = w.wait_type("challenge").await;
    common::attest::prove_device(&w, &SigningKey::from_bytes(&[7; 32]), &ch);
    w.wait_type("lobby").await;
    judge.act(&h, &wid, "admit").await;
    w.wait_type("admitted").await;
    let n = done(&w, "claim", json!({"text": "Another ground"})).await;
    assert_eq!(n["number"], 2, "numbers are not given twice");
    w.close().await;
    j.close().await;
    server.stop().await;
}
