//! Hostile input against a running server (issue #12): hundreds of distinct malformed
//! or hostile HTTP, WHIP and WebSocket requests, built in loops from the router's route
//! table (`hostile/table.rs`, checked against `src/http/mod.rs`), then hostile frames on
//! valid signalling sockets of the judge and of an admitted participant
//! (`hostile/frames.rs`). Proves, for each: an answer below 500 (a socket: an answer
//! or a close frame), within a bound that only a hang exceeds, the server still
//! serving afterwards (`GET /api/me`); and at the end a live hearing still works: two
//! participants join, are admitted and receive each other's media. Runs in a
//! loopback-only network namespace (scripts/test).
#![cfg(feature = "server")]

mod common;
mod hostile;

use common::peer::{Peer, client_api};
use common::ws::WsClient;
use common::{Client, TestServer};
use hostile::frames::{Outcome, frames, outcome, settled_pongs};
use hostile::raw::{Req, send};
use hostile::table::{Fixture, ROUTES, requests, routed_paths};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use sworn::domain::StaffRole;

/// The judge's own `GET /api/me` over TCP: the server is alive and still knows them.
async fn alive(server: &TestServer, f: &Fixture) {
    let me = Req::new("GET", "/api/me").header("Cookie", f.judge_cookie.as_str());
    assert_eq!(
        send(server.addr, &me).await,
        Ok(200),
        "the server stopped serving"
    );
}

async fn fixture(server: &TestServer, judge: &Client) -> Fixture {
    let pros = server.staff("pros", StaffRole::Prosecutor).await;
    let sealed = server.sealed_hearing(judge).await;
    judge
        .post(
            &format!("/api/hearings/{sealed}/grants"),
            json!({"username": "pros"}),
        )
        .await;
    let export = pros.export_file(&sealed).await;
    let hearing = judge.hearing().await;
    let (participant, token) = judge.invite(&hearing, "Witness W", "witness").await;
    let (_, whip_token) = judge.invite(&hearing, "Defence D", "defence").await;
    judge.open(&hearing).await;
    Fixture {
        judge_cookie: judge.cookie.clone().unwrap(),
        judge_csrf: judge.csrf.clone().unwrap(),
        pros_cookie: pros.cookie.clone().unwrap(),
        hearing,
        participant,
        token,
        whip_token,
        sealed,
        export,
        origin: format!("http://{}", server.addr),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_4xx_and_the_hearing_still_works() {
    // The table covers every route the router has.
    let routed = routed_paths(include_str!("../src/http/mod.rs"));
    for p in &routed {
        assert!(
            ROUTES.iter().any(|r| r.path == p),
            "route {p} is not in the hostile table"
        );
    }
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let f = fixture(&server, &judge).await;

    // HTTP and WHIP.
    let reqs = requests(&f);
    let distinct: HashSet<&Req> = reqs.iter().collect();
    let mut statuses = BTreeMap::<u16, usize>::new();
    for (i, r) in reqs.iter().enumerate() {
        let status = send(server.addr, r)
            .await
            .unwrap_or_else(|e| panic!("{e}: {}", r.describe()));
        assert!(status < 500, "{status}: {}", r.describe());
        *statuses.entry(status).or_default() += 1;
        if i % 50 == 0 {
            alive(&server, &f).await;
        }
    }
    alive(&server, &f).await;
    println!(
        "{} HTTP requests ({} distinct), statuses {statuses:?}",
        reqs.len(),
        distinct.len()
    );

    // Hostile frames on the judge's console and an admitted participant's socket.
    let h = judge.hearing().await;
    let (q, qtok) = judge.invite(&h, "Interpreter I", "interpreter").await;
    judge.open(&h).await;
    let console = server.ws_url(&format!("/ws/hearings/{h}"));
    let join = server.ws_url(&format!("/ws/join/{qtok}"));
    let first = WsClient::connect(&join, None).await;
    first.wait_type("lobby").await;
    judge.act(&h, &q, "admit").await;
    first.wait_type("admitted").await;
    first.close().await;
    let list = frames(&h, &q);
    let mut outcomes = BTreeMap::<String, usize>::new();
    for (who, url, cookie) in [
        ("judge", &console, judge.cookie.as_deref()),
        ("participant", &join, None),
    ] {
        // A flood of pings, then a ping answered (or a close frame), never a dead socket. First:
        // the last frame binds the invitation to a key (hello), later sockets get a challenge.
        let ws = WsClient::connect(url, cookie).await;
        ws.wait_type("hearing_state").await;
        for _ in 0..1000 {
            ws.send(json!({"type": "ping"}));
        }
        // Then one more ping: answered once the flood is through (or a close frame).
        let n = settled_pongs(&ws).await;
        ws.send(json!({"type": "ping"}));
        let o = outcome(&ws, n + 1)
            .await
            .unwrap_or_else(|e| panic!("{who} after a ping flood ({n} pongs): {e}"));
        println!("{who}: {n} pongs for 1000 pings");
        *outcomes.entry(format!("{who} flood {o:?}")).or_default() += 1;
        ws.close().await;
        for frame in &list {
            let ws = WsClient::connect(url, cookie).await;
            ws.wait_type("hearing_state").await;
            ws.send_raw(frame.clone());
            ws.send(json!({"type": "ping"}));
            let what: String = format!("{who}: {frame:?}").chars().take(160).collect();
            let o = outcome(&ws, 1)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            if let Outcome::Closed(code) = o {
                assert!(
                    code == 1009 || (4000..5000).contains(&code),
                    "{what}: close {code}"
                );
            }
            *outcomes.entry(format!("{who} {o:?}")).or_default() += 1;
            ws.close().await;
        }
        alive(&server, &f).await;
    }
    let ws_count = 2 * (list.len() + 1);
    println!("{ws_count} hostile frames, outcomes {outcomes:?}");
    assert!(
        distinct.len() + ws_count >= 300,
        "only {} distinct",
        distinct.len() + ws_count
    );

    // A live hearing still works: two participants join, are admitted, exchange media.
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let (oid, otok) = judge.invite(&h, "Official O", "official").await;
    let api = client_api();
    let mut w = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    let mut o = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{otok}")), None).await;
    w.wait_type("lobby").await;
    o.wait_type("lobby").await;
    judge.act(&h, &wid, "admit").await;
    judge.act(&h, &oid, "admit").await;
    w.wait_type("admitted").await;
    o.wait_type("admitted").await;
    w.publish().await;
    o.publish().await;
    w.wait_received(&oid, "video", 30).await;
    o.wait_received(&wid, "audio", 50).await;
    w.close().await;
    o.close().await;
    alive(&server, &f).await;
    server.stop().await;
}
