//! The opening of a hearing with real peers, as most WebRTC tests start it: the judge's
//! console connected with a bound key, the hearing opened, the judge publishing; then
//! participants joining from their invitations and admitted.

use super::peer::Peer;
use super::{Client, TestServer};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use serde_json::json;
use webrtc::api::API;

/// A device's public key for the tests: Ed25519 of the seed `[i; 32]`, base64url.
pub fn pubkey(i: u8) -> String {
    URL_SAFE_NO_PAD.encode(SigningKey::from_bytes(&[i; 32]).verifying_key().to_bytes())
}

/// The judge's console on hearing `h`: key 1 bound, the hearing opened, camera and
/// microphone published.
pub async fn judge_console(server: &TestServer, api: &API, judge: &Client, h: &str) -> Peer {
    let mut j = Peer::connect(
        api,
        &server.ws_url(&format!("/ws/hearings/{h}")),
        judge.cookie.as_deref(),
    )
    .await;
    j.wait_type("welcome").await;
    j.send(json!({"type": "hello", "public_key": pubkey(1)}));
    judge.open(h).await;
    j.publish().await;
    j
}

/// The participant `id` joins with invitation `tok` and device key `key`, and the judge
/// admits them (not yet publishing).
pub async fn join_admitted(
    server: &TestServer,
    api: &API,
    judge: &Client,
    h: &str,
    (id, tok): (&str, &str),
    key: u8,
) -> Peer {
    let p = Peer::connect(api, &server.ws_url(&format!("/ws/join/{tok}")), None).await;
    p.send(json!({"type": "hello", "public_key": pubkey(key)}));
    p.wait_type("lobby").await;
    judge.act(h, id, "admit").await;
    p.wait_type("admitted").await;
    p
}
