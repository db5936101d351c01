//! Live participant lifecycle over real WebSockets and webrtc-rs peers: revocation,
//! rejoining by reopening the link, the judge's console, WHIP, and bad signalling.
//! Runs in a loopback-only network namespace (scripts/test).
#![cfg(feature = "server")]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::TestServer;
use common::peer::{Peer, client_api};
use serde_json::json;
use std::time::Instant;
use sworn::domain::StaffRole;
use tokio_tungstenite::tungstenite::Message;
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_link_drops_the_live_participant() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "W", "witness").await;
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
    w.wait_type("answer").await;

    let t = Instant::now();
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{wid}/revoke"),
            json!({}),
        )
        .await;
    let (code, reason) = w.wait_closed().await;
    println!("revocation dropped the participant after {:?}", t.elapsed());
    assert_eq!(code, 4003);
    assert_eq!(reason, "invite revoked");
    // The link no longer opens a socket.
    assert!(
        tokio_tungstenite::connect_async(common::peer::ws_request(
            &server.ws_url(&format!("/ws/join/{wtok}")),
            None
        ))
        .await
        .is_err()
    );
    w.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_the_link_rejoins_as_the_same_participant() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "W", "witness").await;
    let (oid, otok) = judge.invite(&h, "O", "official").await;
    let api = client_api();
    let url = server.ws_url(&format!("/ws/join/{wtok}"));

    let mut o = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{otok}")), None).await;
    let mut w1 = Peer::connect(&api, &url, None).await;
    w1.wait_type("lobby").await;
    for p in [&wid, &oid] {
        judge
            .post(
                &format!("/api/hearings/{h}/participants/{p}/admit"),
                json!({}),
            )
            .await;
    }
    w1.wait_type("admitted").await;
    o.wait_type("admitted").await;
    w1.publish().await;
    o.publish().await;
    o.wait_received(&wid, "video", 20).await;

    // Reopen the link: the old connection is replaced, the new one is the same person
    // and is admitted straight away (no second trip through the waiting room).
    let mut w2 = Peer::connect(&api, &url, None).await;
    let welcome = w2.wait_type("welcome").await;
    assert_eq!(welcome["participant"]["id"], wid.as_str());
    w2.wait_type("admitted").await;
    assert!(w2.messages().iter().all(|m| m["type"] != "lobby"));
    assert_eq!(w1.wait_closed().await.0, 4009);

    let before = o.received(&wid, "video");
    w2.publish().await;
    o.wait_received(&wid, "video", before + 40).await;
    w2.wait_received(&oid, "video", 20).await;
    for p in [w1, w2, o] {
        p.close().await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_judge_console_joins_by_cookie_and_moderates() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let clerk = server.staff("clerk", StaffRole::Clerk).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "W", "witness").await;
    let api = client_api();

    // Without a cookie, or as a clerk (no ConductHearing), no console socket.
    assert!(
        tokio_tungstenite::connect_async(common::peer::ws_request(
            &server.ws_url(&format!("/ws/hearings/{h}")),
            None
        ))
        .await
        .is_err()
    );
    {
        let req = common::peer::ws_request(
            &server.ws_url(&format!("/ws/hearings/{h}")),
            clerk.cookie.as_deref(),
        );
        assert!(tokio_tungstenite::connect_async(req).await.is_err());
    }

    let mut j = Peer::connect(
        &api,
        &server.ws_url(&format!("/ws/hearings/{h}")),
        judge.cookie.as_deref(),
    )
    .await;
    let welcome = j.wait_type("welcome").await;
    assert_eq!(welcome["participant"]["role"], "judge");
    j.wait_type("admitted").await;
    j.publish().await;

    let mut w = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    w.wait_type("lobby").await;
    // The judge sees the witness waiting in the roster, and admits over the socket.
    j.wait_for("witness in the lobby", |m| {
        m["type"] == "roster"
            && m["participants"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|p| p["id"] == wid.as_str() && p["presence"] == "lobby")
            })
    })
    .await;
    j.send(json!({"type": "action", "action": "admit", "participant": wid}));
    w.wait_type("admitted").await;
    w.publish().await;
    let jid = welcome["participant"]["id"].as_str().unwrap().to_owned();
    w.wait_received(&jid, "video", 20).await;
    j.wait_received(&wid, "video", 20).await;
    j.send(json!({"type": "action", "action": "mute", "participant": wid}));
    w.wait_type("muted").await;
    j.send(json!({"type": "action", "action": "remove", "participant": wid}));
    assert_eq!(w.wait_closed().await.0, 4004);
    // Removal also revokes the link.
    let (s, v) = server
        .anonymous()
        .call(Method::GET, &format!("/api/join/{wtok}"), None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::GONE, Some("invite_revoked"))
    );
    j.close().await;
    w.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signalling_is_refused_and_the_server_stays_up() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "W", "witness").await;
    let api = client_api();
    let url = server.ws_url(&format!("/ws/join/{wtok}"));

    let cases: Vec<(Message, u16)> = vec![
        (Message::Text("not json".into()), 4000),
        (Message::Text(r#"{"type":"launch"}"#.into()), 4000),
        (Message::Text(r#"{"type":"offer","sdp":5}"#.into()), 4000),
        (Message::Binary(vec![0u8; 16].into()), 4000),
        (
            Message::Text(format!(r#"{{"type":"offer","sdp":"{}"}}"#, "a".repeat(70_000)).into()),
            1009,
        ),
    ];
    for (msg, code) in cases {
        let p = Peer::connect(&api, &url, None).await;
        p.wait_type("welcome").await;
        p.send_raw(msg);
        assert_eq!(p.wait_closed().await.0, code);
        p.close().await;
    }

    // Out-of-order SDP and candidates: an error message, the socket stays open.
    let mut p = Peer::connect(&api, &url, None).await;
    p.wait_type("lobby").await;
    p.send(json!({"type": "answer", "sdp": "v=0"}));
    p.send(json!({"type": "candidate", "candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0}}));
    p.send(json!({"type": "hello", "display_name": ""}));
    p.send(json!({"type": "hello", "public_key": "not-a-key"}));
    p.send(json!({"type": "action", "action": "admit", "participant": "../../etc"}));
    p.send(json!({"type": "ping"}));
    p.wait_type("pong").await;
    let codes: Vec<String> = p
        .messages()
        .iter()
        .filter(|m| m["type"] == "error")
        .map(|m| m["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        codes,
        [
            "out_of_order",
            "out_of_order",
            "bad_name",
            "bad_public_key",
            "forbidden"
        ]
    );

    // Admitted, but a garbage offer: refused, socket open, a real offer then works.
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{wid}/admit"),
            json!({}),
        )
        .await;
    p.wait_type("admitted").await;
    p.send(json!({"type": "offer", "sdp": "v=0\r\nthis is not sdp"}));
    p.wait_for("bad_sdp", |m| m["code"] == "bad_sdp").await;
    p.publish().await;
    p.wait_type("answer").await;

    // Invalid tokens never get a socket.
    for bad in ["x".repeat(43), "short".to_owned()] {
        assert!(
            tokio_tungstenite::connect_async(common::peer::ws_request(
                &server.ws_url(&format!("/ws/join/{bad}")),
                None
            ))
            .await
            .is_err()
        );
    }
    // And the server still serves.
    judge.get(&format!("/api/hearings/{h}")).await;
    p.close().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whip_publisher_reaches_subscribers_once_admitted() {
    use webrtc::api::media_engine::MIME_TYPE_VP8;
    use webrtc::rtp_transceiver::rtp_codec::RTCRtpCodecCapability;
    use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;

    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "W", "witness").await;
    let (oid, otok) = judge
        .invite(&h, "Camera in the requested State", "official")
        .await;
    // Recorded, so the test can show nothing is recorded before admission.
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
    let media_files_of = |pid: &str| -> Vec<String> {
        let dir = server
            .dir
            .path()
            .join("data/hearings")
            .join(&h)
            .join("media");
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(pid))
                    .collect()
            })
            .unwrap_or_default()
    };

    let whip = |auth: Option<String>, ct: &'static str, body: String| {
        let state = server.state.clone();
        async move {
            let mut req = Request::builder()
                .method(Method::POST)
                .uri("/whip")
                .header(header::CONTENT_TYPE, ct);
            if let Some(a) = auth {
                req = req.header(header::AUTHORIZATION, a);
            }
            let resp = sworn::http::router(state)
                .oneshot(req.body(Body::from(body)).unwrap())
                .await
                .unwrap();
            let status = resp.status();
            let location = resp
                .headers()
                .get(header::LOCATION)
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
    };
    // Bad WHIP requests.
    assert_eq!(
        whip(None, "application/sdp", "v=0".into()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        whip(
            Some(format!("Bearer {}", "x".repeat(43))),
            "application/sdp",
            "v=0".into()
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        whip(Some(format!("Bearer {otok}")), "text/plain", "v=0".into())
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        whip(
            Some(format!("Bearer {otok}")),
            "application/sdp",
            "hello".into()
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );

    // An offer the media stack refuses leaves nothing behind: the real one after it
    // is not turned away as "already connected".
    let (status, _, body) = whip(
        Some(format!("Bearer {otok}")),
        "application/sdp",
        "v=0\r\n".into(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // A real WHIP publisher (webrtc-rs, non-trickle).
    let pc = std::sync::Arc::new(api.new_peer_connection(Default::default()).await.unwrap());
    let video = std::sync::Arc::new(TrackLocalStaticSample::new(
        RTCRtpCodecCapability {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90000,
            ..Default::default()
        },
        "v".into(),
        "whip".into(),
    ));
    let sender = pc.add_track(video.clone()).await.unwrap();
    tokio::spawn(async move { while sender.read_rtcp().await.is_ok() {} });
    let mut gathered = pc.gathering_complete_promise().await;
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(offer).await.unwrap();
    let _ = gathered.recv().await;
    let sdp = pc.local_description().await.unwrap().sdp;
    let (status, location, answer) =
        whip(Some(format!("Bearer {otok}")), "application/sdp", sdp).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert!(
        answer.contains("a=candidate"),
        "WHIP answers carry their candidates"
    );
    let location = location.unwrap();
    pc.set_remote_description(
        webrtc::peer_connection::sdp::session_description::RTCSessionDescription::answer(answer)
            .unwrap(),
    )
    .await
    .unwrap();
    let feeder = tokio::spawn(async move {
        let file = std::fs::File::open(common::peer::fixtures().join("video.ivf")).unwrap();
        let (mut ivf, _) =
            webrtc::media::io::ivf_reader::IVFReader::new(std::io::BufReader::new(file)).unwrap();
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
        while let Ok((frame, _)) = ivf.parse_next_frame() {
            tick.tick().await;
            let s = webrtc::media::Sample {
                data: frame.freeze(),
                duration: std::time::Duration::from_millis(50),
                ..Default::default()
            };
            if video.write_sample(&s).await.is_err() {
                break;
            }
        }
    });

    // Not forwarded, not recorded before the court admits the publisher...
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(w.received(&oid, "video"), 0);
    assert_eq!(media_files_of(&oid), Vec::<String>::new());
    // ...and a second WHIP POST cannot take over the connected publisher.
    let (status, _, body) = whip(
        Some(format!("Bearer {otok}")),
        "application/sdp",
        "v=0\r\n".into(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // ...and forwarded after.
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{oid}/admit"),
            json!({}),
        )
        .await;
    w.wait_received(&oid, "video", 20).await;
    // Recorded once admitted: the file starts at the next keyframe.
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    while media_files_of(&oid).is_empty() {
        assert!(Instant::now() < deadline, "not recorded after admission");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // An invitation bound to a browser (its key) or refused by the court cannot be used
    // for WHIP, and nothing of theirs is kicked.
    let (bid, btok) = judge.invite(&h, "Bound", "defence").await;
    let bound =
        common::ws::WsClient::connect(&server.ws_url(&format!("/ws/join/{btok}")), None).await;
    bound.send(json!({"type": "hello", "public_key": common::attest::pubkey(&ed25519_dalek::SigningKey::from_bytes(&[7; 32]))}));
    bound.wait_type("lobby").await;
    bound.send(json!({"type": "ping"}));
    bound.wait_type("pong").await;
    let (status, _, body) = whip(
        Some(format!("Bearer {btok}")),
        "application/sdp",
        "v=0\r\n".into(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("device_bound"), "{body}");
    assert_eq!(bound.closed(), None);
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{bid}/deny"),
            json!({}),
        )
        .await;
    let (_, dtok) = judge.invite(&h, "Denied", "prosecutor").await;
    let denied =
        common::ws::WsClient::connect(&server.ws_url(&format!("/ws/join/{dtok}")), None).await;
    let did = denied.wait_type("welcome").await["participant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{did}/deny"),
            json!({}),
        )
        .await;
    denied.wait_closed().await;
    let (status, _, body) = whip(
        Some(format!("Bearer {dtok}")),
        "application/sdp",
        "v=0\r\n".into(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    bound.close().await;

    // DELETE needs the same bearer.
    let del = |auth: String| {
        let state = server.state.clone();
        let location = location.clone();
        async move {
            let req = Request::builder()
                .method(Method::DELETE)
                .uri(location)
                .header(header::AUTHORIZATION, auth)
                .body(Body::empty())
                .unwrap();
            sworn::http::router(state)
                .oneshot(req)
                .await
                .unwrap()
                .status()
        }
    };
    let (_, wtok2) = (wid.clone(), wtok.clone());
    assert_eq!(del(format!("Bearer {wtok2}")).await, StatusCode::FORBIDDEN);
    assert_eq!(server.state.whip.len(), 1);
    // The resource ends with its connection: the court removes the publisher.
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{oid}/remove"),
            json!({}),
        )
        .await;
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while !server.state.whip.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the WHIP resource outlived its connection"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(del(format!("Bearer {otok}")).await, StatusCode::NOT_FOUND);
    feeder.abort();
    let _ = pc.close().await;
    w.close().await;
    server.stop().await;
}
