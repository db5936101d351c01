//! Two webrtc-rs peers in one hearing receive each other's audio and video through the
//! SFU; a third peer with a witness link cannot mute anyone. Runs in a loopback-only
//! network namespace (scripts/test).
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::peer::{Peer, client_api};
use serde_json::json;
use sworn::domain::StaffRole;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_peers_exchange_media_and_a_witness_cannot_mute() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let (oid, otok) = judge.invite(&h, "Official O", "official").await;
    let (_xid, xtok) = judge.invite(&h, "Second witness", "witness").await;
    judge
        .post(&format!("/api/hearings/{h}/open"), json!({}))
        .await;

    let api = client_api();
    let mut w = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    let mut o = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{otok}")), None).await;
    w.send(json!({"type": "hello", "display_name": "Witness W"}));
    w.wait_type("lobby").await;
    o.wait_type("lobby").await;

    // A peer in the lobby cannot start media.
    w.send(json!({"type": "offer", "sdp": "v=0"}));
    let e = w.wait_type("error").await;
    assert_eq!(e["code"], "out_of_order");

    judge
        .post(
            &format!("/api/hearings/{h}/participants/{wid}/admit"),
            json!({}),
        )
        .await;
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{oid}/admit"),
            json!({}),
        )
        .await;
    w.wait_type("admitted").await;
    o.wait_type("admitted").await;
    w.publish().await;
    o.publish().await;

    // Each receives the other's audio and video, under the other's participant id.
    w.wait_received(&oid, "video", 60).await;
    w.wait_received(&oid, "audio", 100).await;
    o.wait_received(&wid, "video", 60).await;
    o.wait_received(&wid, "audio", 100).await;

    // A third peer, a witness, tries to mute the official: refused, nothing changes.
    let x = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{xtok}")), None).await;
    x.wait_type("lobby").await;
    x.send(json!({"type": "action", "action": "mute", "participant": oid}));
    let e = x.wait_type("error").await;
    assert_eq!(e["code"], "forbidden");
    // Even once admitted, a witness may not mute, admit or remove.
    let xid = x.wait_type("welcome").await["participant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{xid}/admit"),
            json!({}),
        )
        .await;
    x.wait_type("admitted").await;
    for action in ["mute", "remove", "deny"] {
        x.send(json!({"type": "action", "action": action, "participant": oid}));
    }
    let refusals = async {
        loop {
            let n = x
                .messages()
                .iter()
                .filter(|m| m["type"] == "error" && m["code"] == "forbidden")
                .count();
            if n >= 4 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), refusals)
        .await
        .expect("every action refused");
    let state = judge.get(&format!("/api/hearings/{h}")).await;
    let official = state["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == oid.as_str())
        .unwrap();
    assert_eq!(official["muted_by_court"], false);
    assert_eq!(official["presence"], "admitted");
    assert!(o.messages().iter().all(|m| m["type"] != "muted"));

    // The court can mute: the official is told, and its audio stops reaching the witness.
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{oid}/mute"),
            json!({}),
        )
        .await;
    o.wait_type("muted").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = w.received(&oid, "audio");
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let after = w.received(&oid, "audio");
    assert!(
        after - before <= 2,
        "muted audio still forwarded: {before} -> {after}"
    );
    // Video keeps flowing.
    let v = w.received(&oid, "video");
    w.wait_received(&oid, "video", v + 10).await;

    w.close().await;
    o.close().await;
    x.close().await;
    server.stop().await;
}
