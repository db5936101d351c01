//! Exhibits (#13 point 6) with real WebRTC peers: the prosecutor shows an exhibit (a
//! second, send-only connection with one video track, as a shared screen); everyone in
//! the hearing receives it under its own stream id (`<prosecutor>-x1`); it is recorded
//! as its own file whose chunks name that stream; the log says exhibit 1 was shown by the
//! prosecutor and when it stopped; a witness may not show one (policy); the sealed bundle
//! verifies, and the composite is derived from the exhibit's file too (it carries it).
//! Loopback-only namespace.
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::peer::{Peer, client_api};
use common::scene::{join_admitted, judge_console, pubkey};
use serde_json::{Value, json};
use std::time::Duration;
use sworn::domain::StaffRole;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhibit_is_forwarded_recorded_logged_and_composited() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let (pid, ptok) = judge.invite(&h, "Prosecutor P", "prosecutor").await;
    let api = client_api();
    let j = judge_console(&server, &api, &judge, &h).await;
    let mut peers = Vec::new();
    for (i, (id, tok)) in [(&wid, &wtok), (&pid, &ptok)].into_iter().enumerate() {
        let p = join_admitted(&server, &api, &judge, &h, (id, tok), 2 + i as u8).await;
        peers.push(p);
    }
    for p in peers.iter_mut() {
        p.publish().await;
    }
    peers[0].wait_received(&pid, "video", 10).await;

    // A witness may not show an exhibit.
    peers[0].send(json!({"type": "exhibit_offer", "sdp": "v=0"}));
    let e = peers[0].wait_for("refused", |m| m["type"] == "error").await;
    assert_eq!(e["code"], "forbidden");

    // The prosecutor shows one: everyone receives it under its own stream.
    let exhibit_pc = peers[1].show_exhibit(&api).await;
    let stream = format!("{pid}-x1");
    let list = peers[0]
        .wait_for("exhibits", |m| {
            m["type"] == "exhibits" && m["exhibits"].as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    assert_eq!(list["exhibits"][0]["stream"], stream.as_str());
    assert_eq!(list["exhibits"][0]["number"], 1);
    peers[0].wait_received(&stream, "video", 30).await;
    j.wait_received(&stream, "video", 30).await;
    // Someone admitted while it is shown is told of it at admission (its tile's name).
    let (lid, ltok) = judge.invite(&h, "Late Official", "official").await;
    let late = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{ltok}")), None).await;
    late.send(json!({"type": "hello", "public_key": pubkey(9)}));
    late.wait_type("lobby").await;
    judge.act(&h, &lid, "admit").await;
    let shown = late.wait_type("exhibits").await;
    assert_eq!(shown["exhibits"][0]["stream"], stream.as_str(), "{shown}");
    late.close().await;
    // Let the recorder commit some of it, then stop.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    peers[1].send(json!({"type": "exhibit_stop"}));
    peers[0]
        .wait_for("no exhibits", |m| {
            m["type"] == "exhibits" && m["exhibits"].as_array().is_some_and(|a| a.is_empty())
        })
        .await;
    let _ = exhibit_pc.close().await;

    for p in peers {
        p.close().await;
    }
    j.close().await;
    let bundle = server.close_and_seal(&judge, &h).await;
    let log = server.log_entries(&h);
    let ex: Vec<&Value> = log.iter().filter(|e| e["type"] == "exhibit").collect();
    assert_eq!(ex.len(), 2, "{log:?}");
    assert_eq!(
        (ex[0]["number"].as_u64(), ex[0]["started"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(ex[0]["participant"], pid.as_str());
    assert_eq!(ex[1]["started"], false);
    let files: std::collections::BTreeSet<&str> = log
        .iter()
        .filter(|e| e["type"] == "media_chunk" && e["participant"] == stream.as_str())
        .filter_map(|e| e["file"].as_str())
        .collect();
    assert!(
        !files.is_empty(),
        "the exhibit was recorded as its own file"
    );
    for f in &files {
        assert!(f.starts_with(&stream), "{f}");
        assert!(
            log.iter()
                .any(|e| e["type"] == "file_sealed" && e["file"] == *f),
            "{f} sealed"
        );
    }
    let composite = log
        .iter()
        .find(|e| {
            e["type"] == "derived_file"
                && e["file"].as_str().is_some_and(|f| f.contains("composite"))
        })
        .expect("a composite");
    let from: Vec<&str> = composite["derived_from"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        files.iter().all(|f| from.contains(f)),
        "the composite carries the exhibit: {from:?}"
    );
    common::media::assert_verifies(env!("CARGO_BIN_EXE_sworn-verify"), &bundle);
    let minutes = common::media::minutes_of(&bundle);
    assert!(
        minutes.contains("exhibit 1 shown by"),
        "minutes list the exhibit"
    );
    server.stop().await;
}
