//! Court controls over the signalling socket (#13 point 3), decided by the pure
//! transitions of `domain::court`: the judge locks the hearing and a newcomer is turned
//! away (close 4015, `join_refused` `hearing_locked`) while an admitted participant who
//! reconnects comes back; recess and resume are told to everyone and logged with their
//! reasons; mute all mutes every admitted participant but the court, each logged; the
//! court stops a participant's video; a clerk marks moments but conducts only while the
//! judge delegates it; a witness controls nothing. The sealed bundle carries every entry
//! and verifies; the minutes list the conduct of the hearing. Signalling only.
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::attest::pubkey;
use common::ws::WsClient;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use sworn::hearing::protocol::close;

async fn join(server: &TestServer, tok: &str, seed: u8) -> WsClient {
    let w = WsClient::connect(&server.ws_url(&format!("/ws/join/{tok}")), None).await;
    let key = SigningKey::from_bytes(&[seed; 32]);
    w.send(json!({"type": "hello", "public_key": pubkey(&key)}));
    w
}

async fn control(c: &WsClient, control: &str, extra: Value) {
    let before = c
        .messages()
        .iter()
        .filter(|m| m["type"] == "court_done")
        .count();
    let mut msg = json!({"type": "court", "control": control});
    if let (Some(m), Some(e)) = (msg.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    c.send(msg);
    c.wait_nth("court_done", before + 1).await;
}

async fn refused(c: &WsClient, control: &str, extra: Value, code: &str) {
    let before = c.messages().iter().filter(|m| m["type"] == "error").count();
    let mut msg = json!({"type": "court", "control": control});
    if let (Some(m), Some(e)) = (msg.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    c.send(msg);
    let e = c.wait_nth("error", before + 1).await;
    assert_eq!(e["code"], code, "{control}: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_court_controls_the_hearing_and_the_record_says_so() {
    let server = TestServer::start().await;
    let (judge, h) = server.judge_with_open_hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let (cid, ctok) = judge.invite(&h, "Clerk C", "clerk").await;
    let (_oid, otok) = judge.invite(&h, "Official O", "official").await;
    let (j, jid) = server.console(&judge, &h).await;
    j.wait_type("court").await;

    let w = join(&server, &wtok, 3).await;
    w.wait_type("lobby").await;
    judge.act(&h, &wid, "admit").await;
    w.wait_type("admitted").await;
    let c = join(&server, &ctok, 4).await;
    c.wait_type("lobby").await;
    judge.act(&h, &cid, "admit").await;
    c.wait_type("admitted").await;

    // Nobody but the court; a clerk not before delegation.
    refused(&w, "lock", json!({}), "forbidden").await;
    refused(&w, "mark", json!({"text": "x"}), "forbidden").await;
    refused(&c, "lock", json!({}), "forbidden").await;
    refused(&j, "recess", json!({"text": "  "}), "bad_text").await;
    refused(&j, "resume", json!({"text": "x"}), "not_in_recess").await;

    // Lock: a newcomer is turned away, an admitted witness who reconnects comes back.
    control(&j, "lock", json!({})).await;
    let locked = w
        .wait_for("court locked", |m| {
            m["type"] == "court" && m["locked"] == true
        })
        .await;
    assert_eq!(locked["recess"], Value::Null);
    let o = join(&server, &otok, 5).await;
    o.wait_type("locked").await;
    assert_eq!(o.wait_closed().await.0, close::HEARING_LOCKED);
    w.close().await;
    let w = WsClient::connect(&server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    let ch = w.wait_type("challenge").await;
    common::attest::prove_device(&w, &SigningKey::from_bytes(&[3; 32]), &ch);
    w.wait_type("admitted").await;
    control(&j, "unlock", json!({})).await;

    // Recess and resume, told to everyone.
    control(
        &j,
        "recess",
        json!({"text": "the interpreter's line dropped"}),
    )
    .await;
    let r = w
        .wait_for("recess", |m| m["type"] == "court" && !m["recess"].is_null())
        .await;
    assert_eq!(r["recess"]["reason"], "the interpreter's line dropped");
    refused(&j, "recess", json!({"text": "again"}), "already_in_recess").await;
    control(&j, "resume", json!({"text": "line restored"})).await;
    w.wait_for("resumed", |m| {
        m["type"] == "court" && m["recess"].is_null() && m["locked"] == false
    })
    .await;

    // Mute all: the witness and the clerk? No: the court (judge, clerk) keeps its voice.
    control(&j, "mute_all", json!({})).await;
    w.wait_for("muted", |m| m["type"] == "muted" && m["by_court"] == true)
        .await;
    // Stop the witness's video, then allow it.
    control(&j, "stop_video", json!({"participant": wid})).await;
    w.wait_for("video stopped", |m| {
        m["type"] == "video" && m["stopped_by_court"] == true
    })
    .await;
    control(&j, "allow_video", json!({"participant": wid})).await;

    // The clerk marks; conducts once delegated; not after.
    control(
        &c,
        "mark",
        json!({"text": "exhibit P-3 shown to the witness"}),
    )
    .await;
    refused(&j, "delegate", json!({"participant": wid}), "not_a_clerk").await;
    control(&j, "delegate", json!({"participant": cid})).await;
    control(&c, "lock", json!({})).await;
    control(&c, "unlock", json!({})).await;
    refused(&c, "end_delegation", json!({}), "forbidden").await;
    control(&j, "end_delegation", json!({})).await;
    refused(&c, "lock", json!({}), "forbidden").await;

    // The record.
    let log = server.log_entries(&h);
    let of = |t: &str| -> Vec<&Value> { log.iter().filter(|e| e["type"] == t).collect() };
    let locks: Vec<(bool, &str)> = of("hearing_locked")
        .iter()
        .map(|e| (e["locked"].as_bool().unwrap(), e["by"].as_str().unwrap()))
        .collect();
    assert_eq!(
        locks,
        vec![
            (true, jid.as_str()),
            (false, jid.as_str()),
            (true, cid.as_str()),
            (false, cid.as_str())
        ]
    );
    assert!(
        of("join_refused")
            .iter()
            .any(|e| e["reason"] == "hearing_locked")
    );
    let recess = of("recess");
    assert_eq!(recess.len(), 2);
    assert_eq!(
        (recess[0]["started"].as_bool(), recess[0]["reason"].as_str()),
        (Some(true), Some("the interpreter's line dropped"))
    );
    assert_eq!(
        (recess[1]["started"].as_bool(), recess[1]["reason"].as_str()),
        (Some(false), Some("line restored"))
    );
    let muted: Vec<&str> = of("mute")
        .iter()
        .filter_map(|e| e["participant"].as_str())
        .collect();
    assert_eq!(muted, vec![wid.as_str()], "the court keeps its voice");
    assert_eq!(of("video_stopped").len(), 2);
    let marks = of("marker");
    assert!(
        marks
            .iter()
            .any(|e| e["label"] == "exhibit P-3 shown to the witness" && e["by"] == cid.as_str())
    );
    let deleg: Vec<bool> = of("delegation")
        .iter()
        .map(|e| e["active"].as_bool().unwrap())
        .collect();
    assert_eq!(deleg, vec![true, false]);

    // Sealed: the bundle verifies and the minutes list the conduct.
    w.close().await;
    c.close().await;
    j.close().await;
    let bundle = server.close_and_seal(&judge, &h).await;
    common::media::assert_verifies(env!("CARGO_BIN_EXE_sworn-verify"), &bundle);
    let minutes = common::media::minutes_of(&bundle);
    for needle in [
        "Conduct of the hearing",
        "recess declared",
        "the interpreter&#39;s line dropped",
        "delegated the conduct of the hearing to",
        "exhibit P-3 shown to the witness (marked by",
    ] {
        assert!(minutes.contains(needle), "minutes lack {needle:?}");
    }
    server.stop().await;
}

/// The server ends a socket the way RFC 6455 §7.1.1 says: it sends its close frame, then
/// keeps reading until the page answers with its own, and only then closes the TCP
/// connection. (Dropping a socket with unread data in it makes the kernel reset the
/// connection and can discard the close frame: the page would see 1006, "connection
/// lost", instead of 4015, "the hearing is locked".) A raw client that does not answer
/// at once sees the connection stay open; once it answers, the server closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_waits_for_the_pages_answer_to_its_close() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    let (judge, h) = server.judge_with_open_hearing().await;
    let (j, _) = server.console(&judge, &h).await;
    control(&j, "lock", json!({})).await;
    let (_, tok) = judge.invite(&h, "Newcomer", "official").await;
    let url = server.ws_url("/");
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_owned();
    let origin = sworn::config::origin_of(&format!("http://{addr}"));
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "GET /ws/join/{tok} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    // Read the 101 response, then frames (unmasked from a server) until the close frame.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut close_code = None;
    while close_code.is_none() {
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut chunk))
            .await
            .expect("the server sends its close frame")
            .unwrap();
        assert!(n > 0, "the connection ended before a close frame: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        assert!(
            buf.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&buf)
        );
        let mut frames = &buf[end + 4..];
        while frames.len() >= 2 {
            let (op, len) = (frames[0] & 0x0f, usize::from(frames[1] & 0x7f));
            let (head, len) = match len {
                126 if frames.len() >= 4 => {
                    (4, usize::from(u16::from_be_bytes([frames[2], frames[3]])))
                }
                126 => break,
                n => (2, n),
            };
            if frames.len() < head + len {
                break;
            }
            if op == 8 {
                close_code = Some(u16::from_be_bytes([frames[head], frames[head + 1]]));
            }
            frames = &frames[head + len..];
        }
    }
    assert_eq!(close_code, Some(close::HEARING_LOCKED));
    // Not answered yet: the server keeps the connection open, waiting for the answer.
    let early = tokio::time::timeout(Duration::from_millis(300), tcp.read(&mut chunk)).await;
    assert!(
        early.is_err(),
        "the server closed before the page answered: {early:?}"
    );
    // The answer (masked, as from a client): code 1000. Then the server closes.
    let mask = [1u8, 2, 3, 4];
    let payload = 1000u16.to_be_bytes();
    let mut frame = vec![0x88, 0x80 | 2];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    tcp.write_all(&frame).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut chunk))
        .await
        .expect("the server closes once answered");
    assert!(matches!(end, Ok(0)), "{end:?}");
}
