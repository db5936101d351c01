//! No token, password, participant name, public key, IP address, TURN secret or TURN
//! credential reaches the logs: a whole hearing (sign-in, invites, two webrtc-rs peers
//! with media, moderation, attestation key, close and seal) on a server with a `[turn]`
//! secret file and a static TURN credential runs with the production log filter at its
//! most verbose level for our own code, and the captured log is searched.
//! Loopback-only network namespace (scripts/test).
#![cfg(feature = "server")]

mod common;

use base64::Engine;
use common::TestServer;
use common::peer::{Peer, client_api};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use sworn::domain::StaffRole;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_secrets_names_or_addresses() {
    let capture = Capture::default();
    let writer = capture.clone();
    // Our own modules at debug; the rest (the server's media stack included) as in
    // production. The test's client peers are webrtc-rs, which logs candidate addresses:
    // those are the clients' logs, not the server's, so they are off here.
    let filter = format!(
        "{},sworn=debug,webrtc=off,webrtc_ice=off,webrtc_dtls=off,webrtc_srtp=off,\
         webrtc_mdns=off,webrtc_sctp=off,webrtc_data=off,webrtc_util=off,webrtc_media=off,\
         interceptor=off,rtp=off,rtcp=off,sdp=off,stun=off,turn=off",
        sworn::app::DEFAULT_LOG_FILTER
    );
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    // A TURN secret from a file, as `sworn serve` loads it, and a static TURN credential
    // (warned about at start, never printed).
    let turn_dir = tempfile::tempdir().unwrap();
    let turn_secret = "turn-static-auth-secret-5a1c9e07b3d2";
    let secret_file = turn_dir.path().join("turn-secret");
    std::fs::write(&secret_file, turn_secret).unwrap();
    let secret_path = secret_file.display().to_string();
    let env = |k: &str| match k {
        "SWORN_TURN_URLS" => Some("turn:127.0.0.1:3478?transport=udp".to_owned()),
        "SWORN_TURN_SECRET_FILE" => Some(secret_path.clone()),
        _ => None,
    };
    let turn = sworn::config::Config::load(None, &env).unwrap().turn;
    assert!(turn.is_some());
    let static_credential = "static-turn-credential-77b0";
    let server = TestServer::start_with(|c| {
        c.turn = turn;
        c.ice_servers = vec![sworn::config::IceServer {
            urls: vec!["turns:127.0.0.1:5349?transport=tcp".into()],
            username: Some("static-turn-user".into()),
            credential: Some(static_credential.into()),
        }];
    })
    .await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "Wilhelmina Witnessname", "witness").await;
    let (oid, otok) = judge.invite(&h, "Oswald Officialname", "official").await;
    // A failed sign-in with a password-like string.
    let _ = server
        .anonymous()
        .call(
            axum::http::Method::POST,
            "/api/login",
            Some(json!({"username": "judge", "password": "Hunter2-secret-password"})),
        )
        .await;
    judge
        .post(&format!("/api/hearings/{h}/open"), json!({}))
        .await;
    let api = client_api();
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 32]);
    let mut w = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    let mut o = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{otok}")), None).await;
    w.send(json!({"type": "hello", "display_name": "Wilhelmina Witnessname", "public_key": key}));
    w.wait_type("lobby").await;
    o.wait_type("lobby").await;
    // The per-connection TURN credentials handed out (welcome and join page info).
    let join_info = server.anonymous().get(&format!("/api/join/{wtok}")).await;
    let mut handed_out = vec![];
    for servers in [
        w.wait_type("welcome").await["ice_servers"].clone(),
        o.wait_type("welcome").await["ice_servers"].clone(),
        join_info["ice_servers"].clone(),
    ] {
        let turn = &servers[1];
        assert_eq!(turn["urls"][0], "turn:127.0.0.1:3478?transport=udp");
        for field in ["username", "credential"] {
            handed_out.push(turn[field].as_str().unwrap().to_owned());
        }
    }
    // One credential per connection: three usernames, three passwords.
    let distinct: std::collections::HashSet<_> = handed_out.iter().collect();
    assert_eq!(distinct.len(), 6, "{handed_out:?}");
    for p in [&wid, &oid] {
        judge
            .post(
                &format!("/api/hearings/{h}/participants/{p}/admit"),
                json!({}),
            )
            .await;
    }
    w.wait_type("admitted").await;
    o.wait_type("admitted").await;
    w.publish().await;
    o.publish().await;
    w.wait_received(&oid, "video", 20).await;
    judge
        .post(
            &format!("/api/hearings/{h}/participants/{oid}/mute"),
            json!({}),
        )
        .await;
    w.send(json!({"type": "not-a-message"}));
    judge
        .post(&format!("/api/hearings/{h}/close"), json!({}))
        .await;
    for p in [w, o] {
        p.close().await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    server.stop().await;

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("hearing"), "the capture works: {log}");
    assert!(
        log.contains("static TURN credential"),
        "the static credential is warned about: {log}"
    );
    for secret in [
        wtok.as_str(),
        otok.as_str(),
        "Wilhelmina",
        "Witnessname",
        "Oswald",
        "judge-password-long",
        "Hunter2-secret-password",
        key.as_str(),
        "127.0.0.1",
        "::1",
        "candidate:",
        "sworn_session=",
        turn_secret,
        static_credential,
    ]
    .into_iter()
    .chain(handed_out.iter().map(String::as_str))
    {
        assert!(
            !log.contains(secret),
            "{secret:?} reached the logs:\n{}",
            log.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
