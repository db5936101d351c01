//! Each participant in their own language (#14 points 2 and 3): the court invites a
//! witness in Arabic (the invitation carries the language; the join API hands it to the
//! page), and the oath comes in the language the witness's page shows — the invitation's
//! until the page says otherwise. The witness signs the text with its language in the
//! statement; the log's `oath_taken` says which; the bundle verifies; the minutes name the
//! language. A language the pages do not have is refused. Signalling only.
#![cfg(feature = "server")]

mod common;

use axum::http::{Method, StatusCode};
use common::TestServer;
use common::attest::{attest, hello, statement};
use common::ws::WsClient;
use ed25519_dalek::SigningKey;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oath_comes_in_the_language_the_witness_reads_and_the_record_says_which() {
    let server = TestServer::start().await;
    let (judge, h) = server.judge_with_open_hearing().await;
    let path = format!("/api/hearings/{h}/participants");

    // Only the six languages of the pages.
    let (s, v) = judge
        .call(
            Method::POST,
            &path,
            Some(json!({"display_name": "W", "role": "witness", "language": "de"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let v = judge
        .post(
            &path,
            json!({"display_name": "Witness W", "role": "witness", "language": "ar"}),
        )
        .await;
    assert_eq!(v["participant"]["language"], "ar");
    let wid = v["participant"]["id"].as_str().unwrap().to_owned();
    let token = v["invite_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let info = judge.get(&format!("/api/join/{token}")).await;
    assert_eq!(info["participant"]["language"], "ar");
    assert_eq!(info["hearing"]["language"], "en");

    let (j, _) = server.console(&judge, &h).await;
    let key = SigningKey::from_bytes(&[7; 32]);
    let w = WsClient::connect(&server.ws_url(&format!("/ws/join/{token}")), None).await;
    w.send(hello(&key, json!({})));
    w.wait_type("lobby").await;
    judge.act(&h, &wid, "admit").await;
    w.wait_type("admitted").await;

    // The court sees the witness's language in the roster.
    let roster = j
        .wait_for("the witness in the roster", |m| {
            m["type"] == "roster"
                && m["participants"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|p| p["id"] == wid.as_str()))
        })
        .await;
    let entry = |r: &serde_json::Value| {
        r["participants"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["id"] == wid.as_str()).cloned())
            .unwrap_or_default()
    };
    assert_eq!(entry(&roster)["language"], "ar");

    // The invitation's language until the page says another.
    j.send(json!({"type": "start_oath", "participant": wid, "form": "oath"}));
    let req = w.wait_type("oath_request").await;
    assert_eq!(req["language"], "ar");
    assert!(
        req["text"].as_str().unwrap().contains("حنثا باليمين"),
        "{req}"
    );

    w.send(json!({"type": "language", "language": "tlh"}));
    let e = w.wait_for("refused", |m| m["type"] == "error").await;
    assert_eq!(e["code"], "bad_language");
    w.send(json!({"type": "language", "language": "ru"}));
    // The witness's socket is read in order: once a second refusal is back, "ru" is in.
    w.send(json!({"type": "language", "language": "tlh"}));
    w.wait_nth("error", 2).await;
    j.wait_for("the roster says ru", |m| {
        m["type"] == "roster" && entry(m)["language"] == "ru"
    })
    .await;
    j.send(json!({"type": "start_oath", "participant": wid, "form": "affirmation"}));
    let req = w.wait_nth("oath_request", 2).await;
    assert_eq!(req["language"], "ru");
    let text = req["text"].as_str().unwrap();
    assert!(text.contains("лжесвидетельство"), "{text}");
    let st = statement(
        "oath",
        &h,
        &wid,
        &req["checkpoint"],
        text,
        json!({"form": "affirmation", "language": "ru"}),
    );
    attest(&w, &key, &st);
    w.wait_for("oath recorded", |m| {
        m["type"] == "attested" && m["kind"] == "oath"
    })
    .await;
    let taken: Vec<_> = server
        .log_entries(&h)
        .into_iter()
        .filter(|e| e["type"] == "oath_taken")
        .collect();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0]["language"], "ru");
    assert_eq!(taken[0]["form"], "affirmation");

    // Sealed: the bundle verifies with the new field, the minutes name the language.
    w.close().await;
    j.close().await;
    let bundle = server.close_and_seal(&judge, &h).await;
    common::media::assert_verifies(env!("CARGO_BIN_EXE_sworn-verify"), &bundle);
    // The minutes as the judge signs them, rendered from the log.
    let minutes = common::media::minutes_of(&bundle);
    assert!(
        minutes.contains(&format!(
            "{wid} took the affirmation, signing its text in Russian"
        )),
        "{minutes}"
    );
}
