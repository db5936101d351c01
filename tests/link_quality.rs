//! Link quality (#11 point 6) with real WebRTC peers: the server measures each
//! participant's connection (str0m statistics: RTCP round trip and losses, bytes each
//! way), sends it live to the judge's console (`link_quality`), logs it
//! (`connection_quality`, at least every 10 s), and at close the minutes and the portal
//! show it as one SVG timeline per participant, drawn by the server. Viewing the
//! portal's timeline is a custody entry. Loopback-only namespace.
#![cfg(feature = "server")]

mod common;

use axum::http::{StatusCode, header};
use common::TestServer;
use common::peer::client_api;
use common::scene::{join_admitted, judge_console};
use serde_json::{Value, json};
use sworn::domain::StaffRole;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_measured_shown_logged_and_drawn() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let pros = server.staff("pros", StaffRole::Prosecutor).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let api = client_api();
    let j = judge_console(&server, &api, &judge, &h).await;
    let mut w = join_admitted(&server, &api, &judge, &h, (&wid, &wtok), 2).await;
    w.publish().await;

    // Live at the console: the witness's link, with what they send.
    let q = j
        .wait_for("the witness's link", |m| {
            m["type"] == "link_quality" && m["participant"] == wid.as_str()
        })
        .await;
    assert!(q["kbps_in"].as_u64().unwrap() > 50, "{q}");
    assert!(
        ["good", "fair", "poor", "unknown"].contains(&q["level"].as_str().unwrap()),
        "{q}"
    );
    // The witness's own page is not sent the court's view of the links.
    assert!(!w.messages().iter().any(|m| m["type"] == "link_quality"));
    // Two logged samples of the witness (the second at least 10 s after the first).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(40);
    while server
        .log_entries(&h)
        .iter()
        .filter(|e| e["type"] == "connection_quality" && e["participant"] == wid.as_str())
        .count()
        < 2
    {
        assert!(tokio::time::Instant::now() < deadline, "no second sample");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    w.close().await;
    j.close().await;
    let bundle = server.close_and_seal(&judge, &h).await;
    let log = server.log_entries(&h);
    let samples: Vec<&Value> = log
        .iter()
        .filter(|e| e["type"] == "connection_quality" && e["participant"] == wid.as_str())
        .collect();
    assert!(samples.len() >= 2, "{samples:?}");
    eprintln!("witness link samples: {samples:?}");
    assert!(samples.iter().all(|e| e["kbps_in"].as_u64().unwrap() > 50));
    common::media::assert_verifies(env!("CARGO_BIN_EXE_sworn-verify"), &bundle);

    // The minutes draw the timeline: a row for the witness, a bar per sample.
    let minutes = common::media::minutes_of(&bundle);
    let at = minutes.find("<svg").expect("the minutes hold the timeline");
    let svg = &minutes[at..];
    assert!(
        svg.contains(&format!("data-participant=\"{wid}\"")),
        "{svg}"
    );
    assert!(svg.contains("Witness W (witness)"));
    assert!(svg.matches("<rect class=\"").count() >= samples.len());

    // The portal serves the same picture (an image, logged in custody).
    judge
        .post(
            &format!("/api/hearings/{h}/grants"),
            json!({"username": "pros"}),
        )
        .await;
    let v = pros.get(&format!("/api/portal/hearings/{h}")).await;
    assert_eq!(v["link_quality"], true);
    let (s, hd, body) = pros
        .get_bytes(&format!("/api/portal/hearings/{h}/quality.svg"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hd[header::CONTENT_TYPE], "image/svg+xml");
    let body = String::from_utf8(body).unwrap();
    assert!(body.starts_with("<svg") && body.contains(&format!("data-participant=\"{wid}\"")));
    let custody = pros.get(&format!("/api/portal/hearings/{h}")).await;
    assert!(
        custody["custody"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["what"] == "view link quality"),
        "{custody}"
    );
    server.stop().await;
}
