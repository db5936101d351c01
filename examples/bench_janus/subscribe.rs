//! Janus VideoRoom subscriptions through the HTTP API: a handle `join`s as subscriber to
//! some feeds (Janus 1.1 multistream: one peer connection for all of them), Janus
//! offers, the webrtc-rs peer answers (every candidate gathered: no trickle) and sends
//! `start`. Used by the hearing shape (each publisher also receives the others) and by
//! the join measurement. Owns no peer connection: the caller creates and closes it.

use crate::janus::{request, wait_event};
use anyhow::Context;
use serde_json::json;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;

/// Reads every track the peer connection receives and drops the packets (webrtc-rs
/// counts a packet in its inbound statistics only once it is read).
pub fn drain_tracks(pc: &RTCPeerConnection) {
    pc.on_track(Box::new(|track, _, _| {
        tokio::spawn(async move { while track.read_rtp().await.is_ok() {} });
        Box::pin(async {})
    }));
}

/// Subscribes `handle` (of `session`) to `feeds` on `pc`; returns once `start` was sent
/// with the answer. `offered` runs when Janus's offer arrives (the join measurement
/// marks the signalling step there).
pub async fn subscribe(
    port: u16,
    session: u64,
    handle: u64,
    feeds: &[u64],
    pc: &RTCPeerConnection,
    offered: impl FnOnce(),
) -> anyhow::Result<()> {
    let path = format!("/janus/{session}/{handle}");
    let streams: Vec<_> = feeds.iter().map(|f| json!({"feed": f})).collect();
    request(
        port,
        "POST",
        path.clone(),
        Some(json!({"janus": "message", "body": {"request": "join", "room": crate::janus::ROOM, "ptype": "subscriber", "streams": streams}})),
    )
    .await?;
    let e = wait_event(port, session, |e| {
        e["sender"] == handle && e["jsep"]["type"] == "offer"
    })
    .await?;
    offered();
    let offer = e["jsep"]["sdp"].as_str().context("offer SDP")?.to_owned();
    pc.set_remote_description(RTCSessionDescription::offer(offer)?)
        .await?;
    let answer = pc.create_answer(None).await?;
    let sdp = crate::whip::set_local_gathered(pc, answer).await?;
    request(
        port,
        "POST",
        path,
        Some(json!({"janus": "message", "body": {"request": "start"}, "jsep": {"type": "answer", "sdp": sdp}})),
    )
    .await?;
    Ok(())
}
