//! What a publisher hears back from the media server, through the server's real media
//! loop: receiver reports (loss and jitter of what it sends) and a keyframe request (PLI) when its recording starts, so the
//! first file begins with a picture. (Transport-wide congestion feedback is negotiated,
//! `transport-cc`, but webrtc-rs hands a sender only the RTCP addressed to its own SSRC,
//! so this client cannot count it.) Loopback-only network namespace (scripts/test).
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::peer::{Peer, client_api};
use serde_json::json;
use std::time::Duration;
use sworn::domain::StaffRole;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_gets_reception_reports_and_a_keyframe_request() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    judge
        .post(&format!("/api/hearings/{h}/open"), json!({}))
        .await;
    let api = client_api();
    let mut w = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    w.wait_type("lobby").await;
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{wid}/admit"),
            json!({}),
        )
        .await;
    w.wait_type("admitted").await;
    w.publish().await;

    let want = ["receiver_report", "pli"];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = w.feedback.lock().unwrap().clone();
        if want.iter().all(|k| got.get(k).copied().unwrap_or(0) > 0) {
            // Reports keep coming (about one a second per stream), not once.
            assert!(got["receiver_report"] >= 2, "{got:?}");
            // The server sends nothing on the lines the publisher offered.
            assert!(!got.contains_key("sender_report"), "{got:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the publisher got {got:?}, wanted each of {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    w.close().await;
    server.stop().await;
}
