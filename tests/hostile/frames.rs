//! Hostile frames on valid signalling sockets (the judge's console, an admitted invited
//! participant): binary, non-JSON, unknown types, oversized, garbage SDP and candidates,
//! actions on unknown participants, garbage statements and signatures, ping floods.
//! Each is sent on a fresh socket followed by a ping; the server must answer (a pong,
//! an error) or close with a close frame, within [`HANG`].

use super::raw::HANG;
use crate::common::ws::WsClient;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Frames to send, one per socket.
pub fn frames(hearing: &str, known: &str) -> Vec<Message> {
    let text = |v: Value| Message::Text(v.to_string().into());
    let raw = |s: String| Message::Text(s.into());
    let mut out = vec![
        Message::Binary(vec![0u8, 1, 2, 3].into()),
        Message::Binary(Vec::new().into()),
        Message::Binary(vec![b'{'; 1000].into()),
        raw("not json".into()),
        raw(String::new()),
        raw("[]".into()),
        raw("null".into()),
        raw("{\"type\":\"ping\"".into()),
        raw(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000))),
        raw(format!(
            "{{\"type\":\"candidate\",\"candidate\":{}1{}}}",
            "{\"a\":".repeat(10_000),
            "}".repeat(10_000)
        )),
        raw("x".repeat(100_000)),
        raw(format!(
            "{{\"type\":\"offer\",\"sdp\":\"{}\"}}",
            "a".repeat(200_000)
        )),
        raw("{\"type\":\"ping\",\"type\":\"offer\"}".into()),
        text(json!({"type": "launch_missiles"})),
        text(json!({"type": "Ping"})),
        text(json!({"type": "ping", "extra": 1})),
        text(json!({"type": 7})),
        text(json!({"sdp": "v=0"})),
    ];
    let msgs = [
        json!({"type": "offer", "sdp": "garbage"}),
        json!({"type": "offer", "sdp": ""}),
        json!({"type": "offer", "sdp": 5}),
        json!({"type": "offer", "sdp": "v=0\r\n\u{0}\u{1}\u{202e}"}),
        json!({"type": "offer", "sdp": format!("v=0\r\n{}", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n".repeat(1000))}),
        json!({"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"}),
        json!({"type": "answer", "sdp": "garbage"}),
        json!({"type": "answer", "sdp": "v=0\r\n"}),
        json!({"type": "candidate", "candidate": 5}),
        json!({"type": "candidate", "candidate": "garbage"}),
        json!({"type": "candidate", "candidate": {}}),
        json!({"type": "candidate", "candidate": {"candidate": "garbage"}}),
        json!({"type": "candidate", "candidate": {"candidate": "candidate:1 1 udp 1 169.254.169.254 80 typ host"}}),
        json!({"type": "candidate", "candidate": {"candidate": "x".repeat(600)}}),
        json!({"type": "candidate", "candidate": {"candidate": null, "sdpMid": {"a": [1]}}}),
        json!({"type": "action", "action": "admit", "participant": "nope"}),
        json!({"type": "action", "action": "mute", "participant": "0".repeat(32)}),
        json!({"type": "action", "action": "remove", "participant": "x".repeat(10_000)}),
        json!({"type": "action", "action": "approve_device", "participant": "../../etc/passwd"}),
        json!({"type": "action", "action": "refuse_device", "participant": ""}),
        json!({"type": "action", "action": "launch", "participant": known}),
        json!({"type": "action", "action": "admit"}),
        json!({"type": "attest", "statement": "garbage", "signature": "garbage"}),
        json!({"type": "attest", "statement": "{}", "signature": ""}),
        json!({"type": "attest", "statement": "x".repeat(60_000), "signature": "A".repeat(86)}),
        json!({"type": "attest", "statement": format!("{{\"v\":1,\"kind\":\"oath\",\"hearing\":\"{hearing}\",\"participant\":\"{known}\",\"checkpoint\":{{\"size\":1,\"root\":\"AA==\"}},\"text\":\"I swear\"}}"), "signature": "A".repeat(86)}),
        json!({"type": "attest", "statement": 1, "signature": []}),
        json!({"type": "minutes_signature", "signature": "!!!"}),
        json!({"type": "request_minutes"}),
        json!({"type": "start_oath", "participant": "nope", "form": "oath"}),
        json!({"type": "start_oath", "participant": known, "form": "bogus"}),
        json!({"type": "media_state", "audio": "yes", "video": null}),
        json!({"type": "hello", "public_key": "!!!", "proof": "???"}),
        json!({"type": "hello", "display_name": "x".repeat(10_000)}),
        json!({"type": "hello", "public_key": "A".repeat(43), "proof": "A".repeat(86)}),
    ];
    out.extend(msgs.into_iter().map(text));
    out
}

/// What the server did with a hostile frame.
#[derive(Debug)]
pub enum Outcome {
    /// It answered the ping after it (the socket lives on).
    Answered,
    /// It closed the socket with this code.
    Closed(u16),
}

/// Waits for the ping's pong (the `pongs`-th), or for a close frame.
pub async fn outcome(ws: &WsClient, pongs: usize) -> Result<Outcome, String> {
    let deadline = tokio::time::Instant::now() + HANG;
    loop {
        if let Some((code, _)) = ws.closed() {
            return Ok(Outcome::Closed(code));
        }
        if ws.messages().iter().filter(|m| m["type"] == "pong").count() >= pongs {
            return Ok(Outcome::Answered);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("no answer and no close frame: {:?}", last(ws)));
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The pongs received once nothing more arrived for half a second (bounded by
/// [`HANG`]): under a flood the hearing task drops what does not fit a socket's queue
/// rather than wait for a slow reader.
pub async fn settled_pongs(ws: &WsClient) -> usize {
    let deadline = tokio::time::Instant::now() + HANG;
    let mut seen = usize::MAX;
    loop {
        let n = ws.messages().len();
        if n == seen || tokio::time::Instant::now() > deadline {
            return ws.messages().iter().filter(|m| m["type"] == "pong").count();
        }
        seen = n;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

fn last(ws: &WsClient) -> Option<Value> {
    ws.messages().last().cloned()
}
