//! Private consultation (#13 point 4) with real WebRTC peers: the judge opens a
//! consultation of the witness and the defence (at the witness's request); meanwhile the
//! two hear and see only each other, and not one packet of theirs reaches the judge or the
//! official, and nothing of theirs is recorded (their files are sealed at the start and
//! no media chunk of theirs begins inside the consultation); the log says who, when and
//! who asked; at the end forwarding and recording resume (new files). The bundle
//! verifies. Loopback-only namespace.
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::peer::{Peer, client_api};
use common::scene::{join_admitted, judge_console};
use serde_json::{Value, json};
use std::time::Duration;
use sworn::domain::StaffRole;
use sworn::verify::clock::parse_ms;

async fn court(j: &Peer, msg: Value) {
    let before = j
        .messages()
        .iter()
        .filter(|m| m["type"] == "court_done")
        .count();
    j.send(msg);
    j.wait_for("court_done", |m| m["type"] == "court_done")
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while j
        .messages()
        .iter()
        .filter(|m| m["type"] == "court_done")
        .count()
        <= before
    {
        assert!(tokio::time::Instant::now() < deadline, "no court_done");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_of_a_private_consultation_reaches_others_or_a_file() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let (did, dtok) = judge.invite(&h, "Defence D", "defence").await;
    let (oid, otok) = judge.invite(&h, "Official O", "official").await;
    let api = client_api();
    let j = judge_console(&server, &api, &judge, &h).await;
    let mut peers = Vec::new();
    for (i, (pid, tok)) in [(&wid, &wtok), (&did, &dtok), (&oid, &otok)]
        .into_iter()
        .enumerate()
    {
        let p = join_admitted(&server, &api, &judge, &h, (pid, tok), 2 + i as u8).await;
        peers.push(p);
    }
    for p in peers.iter_mut() {
        p.publish().await;
    }
    let (w, d, o) = (&peers[0], &peers[1], &peers[2]);
    for (from, kind) in [
        (&wid, "video"),
        (&did, "video"),
        (&wid, "audio"),
        (&did, "audio"),
    ] {
        o.wait_received(from, kind, 10).await;
        j.wait_received(from, kind, 10).await;
    }

    // The witness asks; the judge is told and opens the consultation.
    w.send(json!({"type": "court", "control": "request_consultation", "participant": did}));
    let req = j.wait_type("consultation_requested").await;
    assert_eq!(
        (req["by"].as_str(), req["with"].as_str()),
        (Some(wid.as_str()), Some(did.as_str()))
    );
    court(&j, json!({"type": "court", "control": "consult", "participants": [wid, did], "participant": wid})).await;
    j.wait_for("in consultation", |m| {
        m["type"] == "court" && m["consultation"].is_array()
    })
    .await;
    // Packets already on the way settle; from here nothing may cross.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let outside: Vec<u64> = [o, &j]
        .iter()
        .flat_map(|p| {
            [
                (&wid, "video"),
                (&wid, "audio"),
                (&did, "video"),
                (&did, "audio"),
            ]
            .map(|(s, k)| p.received(s, k))
        })
        .collect();
    // Inside, the two keep talking to each other.
    let base_dw = d.received(&wid, "audio");
    let base_wd = w.received(&did, "video");
    d.wait_received(&wid, "audio", base_dw + 50).await;
    w.wait_received(&did, "video", base_wd + 10).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after: Vec<u64> = [o, &j]
        .iter()
        .flat_map(|p| {
            [
                (&wid, "video"),
                (&wid, "audio"),
                (&did, "video"),
                (&did, "audio"),
            ]
            .map(|(s, k)| p.received(s, k))
        })
        .collect();
    assert_eq!(
        after, outside,
        "no packet of the consultation reached the judge or the official"
    );
    // The hearing goes on outside: the judge still hears the official.
    let o_at_j = j.received(&oid, "audio");
    j.wait_received(&oid, "audio", o_at_j + 10).await;

    court(&j, json!({"type": "court", "control": "end_consultation"})).await;
    let back = o.received(&wid, "video");
    o.wait_received(&wid, "video", back + 10).await;
    j.wait_received(&did, "audio", after[7] + 10).await;
    // Let recording resume and commit.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let log = server.log_entries(&h);
    let cons: Vec<&Value> = log.iter().filter(|e| e["type"] == "consultation").collect();
    assert_eq!(cons.len(), 2, "{log:?}");
    assert_eq!(cons[0]["started"], true);
    assert_eq!(cons[0]["asked_by"], wid.as_str());
    assert_eq!(cons[0]["participants"], json!([wid, did]));
    assert_eq!(cons[1]["started"], false);
    let t0 = parse_ms(cons[0]["time"].as_str().unwrap()).unwrap();
    let t1 = parse_ms(cons[1]["time"].as_str().unwrap()).unwrap();
    let member_chunks: Vec<&Value> = log
        .iter()
        .filter(|e| {
            e["type"] == "media_chunk"
                && (e["participant"] == wid.as_str() || e["participant"] == did.as_str())
        })
        .collect();
    for c in &member_chunks {
        let start = parse_ms(c["wall_start"].as_str().unwrap()).unwrap();
        assert!(
            !(start > t0 + 1000 && start < t1),
            "media recorded during the consultation: {c}"
        );
    }
    // Files before and after: the consultation split each member's recording in two.
    for m in [&wid, &did] {
        let files: std::collections::BTreeSet<&str> = member_chunks
            .iter()
            .filter(|c| c["participant"] == m.as_str())
            .filter_map(|c| c["file"].as_str())
            .collect();
        assert!(files.len() >= 2, "{m}: {files:?}");
        let resumed = member_chunks.iter().any(|c| {
            c["participant"] == m.as_str()
                && parse_ms(c["wall_start"].as_str().unwrap()).unwrap() >= t1 - 1000
        });
        assert!(resumed, "{m}: recording resumed after the consultation");
    }

    for p in peers {
        p.close().await;
    }
    j.close().await;
    let bundle = server.close_and_seal(&judge, &h).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sworn-verify"))
        .arg(&bundle)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    server.stop().await;
}
