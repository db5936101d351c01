//! Several media nodes (#16 point 3): three in-process `sworn serve` nodes on loopback
//! share one PostgreSQL database (`SWORN_TEST_PG`) and one public address. A hearing is
//! placed on the least loaded live node when it is first reached; the judge's console,
//! invitations, moderation and a witness's socket work through any node (forwarded to
//! the hearing's node, WebSocket upgrades included); every node lists every hearing with
//! its node; a draining node takes no new hearing; a dead node's hearings answer 503
//! `node_unavailable` and new hearings go elsewhere; a request forged as from another
//! node is refused. Signalling only.
#![cfg(feature = "server")]

mod common;

use axum::http::{Method, StatusCode};
use common::ws::WsClient;
use common::{Client, TestServer, pg};
use ed25519_dalek::SigningKey;
use serde_json::json;
use sworn::config::ClusterConfig;
use sworn::domain::{HearingId, StaffRole};
use sworn::store::Database;

/// A node `id` on `db` (`common::cluster_node`).
async fn node(id: &str, db: &Database, first: Option<&TestServer>) -> TestServer {
    common::cluster_node(id, db, first, |_| {}).await
}

/// The same signed-in account, calling through `server`'s router.
fn through(server: &TestServer, c: &Client) -> Client {
    Client {
        state: server.state.clone(),
        cookie: c.cookie.clone(),
        csrf: c.csrf.clone(),
    }
}

fn hid(h: &str) -> HearingId {
    HearingId::parse(h).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hearings_are_placed_on_nodes_and_reached_through_any_node() {
    let Some(admin) = pg::pg_admin_url() else {
        return;
    };
    let url = pg::fresh_pg_database(&admin).await;
    let db = Database::parse(&url).unwrap();
    let a = node("node-a", &db, None).await;
    let public = a.state.config.public_url.clone();
    let b = node("node-b", &db, Some(&a)).await;
    let c = node("node-c", &db, Some(&a)).await;

    // Signed in through A; the session works through every node (shared database).
    let judge = a.staff("judge", StaffRole::Judge).await;
    let judge_c = through(&c, &judge);

    // All idle: the first hearing goes to the node reached (A). Then A runs one and B,
    // C none: the next goes to B (the lowest id among the least loaded).
    let h1 = judge.hearing().await;
    judge.open(&h1).await;
    let h2 = judge.hearing().await;
    judge.open(&h2).await;
    assert!(
        a.state.hearings.running(&hid(&h1)).is_some(),
        "h1 runs on A"
    );
    assert!(
        b.state.hearings.running(&hid(&h2)).is_some(),
        "h2 runs on B"
    );
    assert!(
        a.state.hearings.running(&hid(&h2)).is_none(),
        "h2 does not run on A"
    );
    assert!(
        c.state.hearings.running(&hid(&h2)).is_none(),
        "h2 does not run on C"
    );
    // A round trip to h2's hearing task on B: it has opened its log.
    let on_b = b.state.hearings.running(&hid(&h2)).unwrap();
    on_b.status().await.unwrap();
    let log_of = |s: &TestServer, h: &str| s.dir.path().join("data/hearings").join(h).join("log");
    assert!(log_of(&b, &h2).is_dir(), "h2's evidence log is on B's disk");
    assert!(!log_of(&a, &h2).exists(), "and not on A's");

    // Every node lists both hearings, each with its node.
    for server in [&a, &b, &c] {
        let list = through(server, &judge).get("/api/hearings").await;
        let node_of = |h: &str| {
            list["hearings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == h)
                .map(|x| x["node"].clone())
        };
        assert_eq!(node_of(&h1), Some(json!("node-a")), "{list}");
        assert_eq!(node_of(&h2), Some(json!("node-b")), "{list}");
    }

    // Through C: an invitation for h2 (forwarded to B) and the judge's console (a
    // WebSocket forwarded to B). Through A: the witness's socket. All meet on B.
    let (wid, token) = judge_c.invite(&h2, "Witness Across", "witness").await;
    let console = WsClient::connect_from(
        &c.ws_url(&format!("/ws/hearings/{h2}")),
        judge_c.cookie.as_deref(),
        &public,
    )
    .await;
    console.wait_type("welcome").await;
    let witness =
        WsClient::connect_from(&a.ws_url(&format!("/ws/join/{token}")), None, &public).await;
    let key = SigningKey::from_bytes(&[7; 32]);
    witness.send(json!({"type": "hello", "public_key": common::attest::pubkey(&key)}));
    witness.wait_type("lobby").await;
    // Admitted by the judge through C; the witness, connected through A, hears it.
    judge_c.act(&h2, &wid, "admit").await;
    witness.wait_type("admitted").await;
    let status = b
        .state
        .hearings
        .running(&hid(&h2))
        .unwrap()
        .status()
        .await
        .unwrap();
    let w = status
        .iter()
        .find(|(p, _)| p.as_str() == wid)
        .map(|(_, s)| s.presence);
    assert_eq!(
        w.map(|p| serde_json::to_value(p).unwrap()),
        Some(json!("admitted")),
        "B's hearing has the witness admitted"
    );
    // The hearing's details (live status, from B) read through A.
    let details = judge.get(&format!("/api/hearings/{h2}")).await;
    let p = details["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == wid.as_str())
        .cloned()
        .unwrap();
    assert_eq!(p["presence"], "admitted", "{details}");

    // C drains: a new hearing opened through C goes to A or B (C has none, but takes
    // none). A and B run one each: A (the lower id).
    assert!(
        a.state
            .store
            .set_node_draining("node-c", true)
            .await
            .unwrap()
    );
    let h3 = judge_c.hearing().await;
    judge_c.open(&h3).await;
    assert!(
        a.state.hearings.running(&hid(&h3)).is_some(),
        "h3 runs on A"
    );
    assert!(c.state.hearings.running(&hid(&h3)).is_none());
    assert!(
        a.state
            .store
            .set_node_draining("node-c", false)
            .await
            .unwrap()
    );

    // B stops and its heartbeat ages past the liveness bound: h2 answers 503 through
    // any node; a new hearing goes to C, never to B.
    witness.close().await;
    console.close().await;
    b.stop().await;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .execute(
            "UPDATE nodes SET heartbeat_at = now() - interval '1 hour' WHERE id = 'node-b'",
            &[],
        )
        .await
        .unwrap();
    let (s, v) = judge
        .call(Method::GET, &format!("/api/hearings/{h2}"), None)
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "node_unavailable");
    let h4 = judge.hearing().await;
    judge.open(&h4).await;
    assert!(
        c.state.hearings.running(&hid(&h4)).is_some(),
        "h4 runs on C"
    );
    a.stop().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_forged_as_from_another_node_is_refused() {
    let Some(admin) = pg::pg_admin_url() else {
        return;
    };
    let db = Database::parse(&pg::fresh_pg_database(&admin).await).unwrap();
    let a = node("node-a", &db, None).await;
    let judge = a.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let path = format!("/api/hearings/{h}");
    let now = sworn::secrets::now_unix();
    let cookie = judge.cookie.clone().unwrap();
    let send = |sig: String| {
        let req = axum::http::Request::builder()
            .uri(path.as_str())
            .header("cookie", cookie.as_str())
            .header("x-sworn-cluster", sig)
            .header("x-sworn-client", "192.0.2.9")
            .body(axum::body::Body::empty())
            .unwrap();
        let router = sworn::http::router(a.state.clone());
        async move {
            let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    use sworn::cluster::sign::sign;
    // Signed with another secret, or for another path: 403 cluster_auth.
    let wrong = sign(
        b"not the cluster's secret, not at all",
        "node-b",
        now,
        "GET",
        &path,
        "192.0.2.9",
    );
    let (s, body) = send(wrong).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("cluster_auth"), "{body}");
    let elsewhere = sign(
        common::CLUSTER_SECRET,
        "node-b",
        now,
        "GET",
        "/api/hearings",
        "192.0.2.9",
    );
    assert_eq!(send(elsewhere).await.0, StatusCode::FORBIDDEN);
    let stale = sign(
        common::CLUSTER_SECRET,
        "node-b",
        now - 3600,
        "GET",
        &path,
        "192.0.2.9",
    );
    assert_eq!(send(stale).await.0, StatusCode::FORBIDDEN);
    // Signed right: answered here.
    let right = sign(
        common::CLUSTER_SECRET,
        "node-b",
        now,
        "GET",
        &path,
        "192.0.2.9",
    );
    let (s, body) = send(right).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // A node with a signing key of its own is refused at start: a hearing moved onto
    // it could not go on signing its log.
    let dir = tempfile::tempdir().unwrap();
    let mut other = sworn::config::Config::for_tests(dir.path().join("data"));
    other.database = db.clone();
    other.cluster = Some(ClusterConfig {
        node_id: "node-z".into(),
        internal_url: "http://127.0.0.1:9".into(),
        secret: common::CLUSTER_SECRET.to_vec(),
    });
    let refused = sworn::app::App::build(other)
        .await
        .err()
        .map(|e| e.to_string());
    assert!(
        refused
            .as_deref()
            .is_some_and(|e| e.contains("node-a") && e.contains("another server key")),
        "{refused:?}"
    );
    a.stop().await;
}

/// One request through `server`'s router: status, `Location`, body.
async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    bearer: &str,
    body: String,
) -> (StatusCode, Option<String>, String) {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {bearer}"))
        .header("content-type", "application/sdp")
        .body(axum::body::Body::from(body))
        .unwrap();
    let resp = tower::ServiceExt::oneshot(sworn::http::router(server.state.clone()), req)
        .await
        .unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        location,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// WHIP through other nodes: the offer posted to A reaches the hearing's node B (its
/// resource is named after B), and the DELETE sent to C ends it on B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whip_works_through_any_node() {
    let Some(admin) = pg::pg_admin_url() else {
        return;
    };
    let db = Database::parse(&pg::fresh_pg_database(&admin).await).unwrap();
    let a = node("node-a", &db, None).await;
    let b = node("node-b", &db, Some(&a)).await;
    let c = node("node-c", &db, Some(&a)).await;
    let judge = a.staff("judge", StaffRole::Judge).await;
    // A runs one hearing; the second goes to B.
    let h1 = judge.hearing().await;
    judge.open(&h1).await;
    let h = judge.hearing().await;
    judge.open(&h).await;
    assert!(
        b.state.hearings.running(&hid(&h)).is_some(),
        "the hearing runs on B"
    );
    let (_oid, otok) = judge
        .invite(&h, "Camera of the requested State", "official")
        .await;

    let api = common::peer::client_api();
    let pc = api.new_peer_connection(Default::default()).await.unwrap();
    pc.add_transceiver_from_kind(
        webrtc::rtp_transceiver::rtp_codec::RTPCodecType::Video,
        None,
    )
    .await
    .unwrap();
    let mut gathered = pc.gathering_complete_promise().await;
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(offer).await.unwrap();
    let _ = gathered.recv().await;
    let sdp = pc.local_description().await.unwrap().sdp;

    let (status, location, answer) = send(&a, Method::POST, "/whip", &otok, sdp).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert!(answer.contains("a=candidate"), "{answer}");
    let location = location.unwrap();
    assert!(location.starts_with("/whip/node-b."), "{location}");
    assert_eq!(b.state.whip.len(), 1, "the resource lives on B");
    assert!(a.state.whip.is_empty() && c.state.whip.is_empty());

    let (status, _, body) = send(&c, Method::DELETE, &location, &otok, String::new()).await;
    assert!(status.is_success(), "{status} {body}");
    assert!(b.state.whip.is_empty(), "ended on B");
    let _ = pc.close().await;
    for s in [a, b, c] {
        s.stop().await;
    }
}
