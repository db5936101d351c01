//! No token, password, participant name, public key or IP address reaches the logs:
//! a whole hearing (sign-in, invites, two webrtc-rs peers with media, moderation,
//! attestation key, close and seal) runs with the production log filter at its most
//! verbose level for our own code, and the captured log is searched.
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

    let server = TestServer::start().await;
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
    ] {
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
