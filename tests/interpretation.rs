//! Interpretation channels (#14 point 1) with real WebRTC peers: two interpreters publish
//! French channels on second, send-only connections (`<interpreter>-i<N>`); the first is
//! on air, the second stands by and every page already receives it; the handover only
//! moves "on air" (logged), the one who stops is replaced by the one standing by; an
//! interpreter hears another's channel (relay); roles and languages are checked. Each
//! channel is recorded as its own file, labelled with its language in the log, gets its
//! own audio-only derived copy, and stays out of the composite (the floor). Loopback-only
//! namespace.
#![cfg(feature = "server")]

mod common;

use common::TestServer;
use common::peer::{Peer, client_api};
use common::scene::{judge_console, pubkey};
use serde_json::{Value, json};
use std::time::Duration;
use sworn::domain::StaffRole;

/// The last `interpretation` message `p` got, as (stream, language, on_air) triples.
fn channels(p: &Peer) -> Vec<(String, String, bool)> {
    let Some(m) = p
        .messages()
        .into_iter()
        .rev()
        .find(|m| m["type"] == "interpretation")
    else {
        return Vec::new();
    };
    m["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["stream"].as_str().unwrap().to_owned(),
                c["language"].as_str().unwrap().to_owned(),
                c["on_air"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn wait_channels(p: &Peer, want: &[(&str, &str, bool)]) {
    let want: Vec<(String, String, bool)> = want
        .iter()
        .map(|(s, l, a)| (s.to_string(), l.to_string(), *a))
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while channels(p) != want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "channels {:?}, want {want:?}",
            channels(p)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_are_forwarded_handed_over_recorded_and_kept_out_of_the_composite() {
    let server = TestServer::start().await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let (aid, atok) = judge.invite(&h, "Interpreter A", "interpreter").await;
    let (bid, btok) = judge.invite(&h, "Interpreter B", "interpreter").await;
    let api = client_api();
    let j = judge_console(&server, &api, &judge, &h).await;
    let mut peers = Vec::new();
    for (i, (id, tok)) in [(&wid, &wtok), (&aid, &atok), (&bid, &btok)]
        .into_iter()
        .enumerate()
    {
        let p = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{tok}")), None).await;
        p.send(json!({"type": "hello", "public_key": pubkey(2 + i as u8)}));
        p.wait_type("lobby").await;
        judge.act(&h, id, "admit").await;
        // Admission tells the floor language and the channels (none yet).
        let first = p.wait_type("interpretation").await;
        assert_eq!(first["floor"], "en", "{first}");
        assert_eq!(first["channels"], json!([]));
        peers.push(p);
    }
    for p in peers.iter_mut() {
        p.publish().await;
    }
    peers[0].wait_received(&aid, "audio", 10).await;

    // Only an interpreter publishes a channel, and only in one of the six languages.
    peers[0].send(json!({"type": "interpretation_offer", "sdp": "v=0", "language": "fr"}));
    let e = peers[0].wait_for("refused", |m| m["type"] == "error").await;
    assert_eq!(e["code"], "forbidden");
    peers[1].send(json!({"type": "interpretation_offer", "sdp": "v=0", "language": "de"}));
    let e = peers[1].wait_for("refused", |m| m["type"] == "error").await;
    assert_eq!(e["code"], "bad_language");

    // A interprets into French: on air; everyone else receives it.
    let a_pc = peers[1].interpret(&api, "fr").await;
    let a_stream = format!("{aid}-i1");
    wait_channels(&peers[0], &[(&a_stream, "fr", true)]).await;
    peers[0].wait_received(&a_stream, "audio", 20).await;
    j.wait_received(&a_stream, "audio", 20).await;
    // The court mutes A: the channel, A's microphone, falls silent with A, and comes back.
    judge.act(&h, &aid, "mute").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let muted_at = peers[0].received(&a_stream, "audio");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        peers[0].received(&a_stream, "audio") <= muted_at + 2,
        "a muted interpreter's channel is not forwarded"
    );
    judge.act(&h, &aid, "unmute").await;
    peers[0]
        .wait_received(&a_stream, "audio", muted_at + 20)
        .await;
    // A second channel of the same interpreter is refused.
    peers[1].send(json!({"type": "interpretation_offer", "sdp": "v=0", "language": "es"}));
    let e = peers[1]
        .wait_for("too many", |m| {
            m["type"] == "error" && m["code"] == "too_many_channels"
        })
        .await;
    assert_eq!(e["code"], "too_many_channels");

    // B joins the booth: standing by, yet every page already receives B's audio, and B
    // hears A (relay).
    let b_pc = peers[2].interpret(&api, "fr").await;
    let b_stream = format!("{bid}-i2");
    wait_channels(
        &peers[0],
        &[(&a_stream, "fr", true), (&b_stream, "fr", false)],
    )
    .await;
    peers[0].wait_received(&b_stream, "audio", 20).await;
    peers[2].wait_received(&a_stream, "audio", 20).await;
    peers[1].wait_received(&b_stream, "audio", 20).await;

    // The handover: B takes the channel; A stops; B stays on air.
    peers[2].send(json!({"type": "interpretation_take"}));
    wait_channels(
        &peers[0],
        &[(&a_stream, "fr", false), (&b_stream, "fr", true)],
    )
    .await;
    let before = peers[0].received(&b_stream, "audio");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    peers[1].send(json!({"type": "interpretation_stop"}));
    wait_channels(&peers[0], &[(&b_stream, "fr", true)]).await;
    let _ = a_pc.close().await;
    peers[0]
        .wait_received(&b_stream, "audio", before + 20)
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // B is moved into a private consultation with the witness: B's channel carries B's
    // microphone, so it ends before the consultation begins.
    j.send(json!({"type": "court", "control": "consult", "participants": [wid, bid], "participant": wid}));
    wait_channels(&j, &[]).await;
    j.send(json!({"type": "court", "control": "end_consultation"}));

    for p in peers {
        p.close().await;
    }
    let _ = b_pc.close().await;
    j.close().await;
    let bundle = server.close_and_seal(&judge, &h).await;
    let log = server.log_entries(&h);

    let starts: Vec<(&str, &str, &str, bool)> = log
        .iter()
        .filter(|e| e["type"] == "interpretation")
        .map(|e| {
            (
                e["participant"].as_str().unwrap(),
                e["stream"].as_str().unwrap(),
                e["language"].as_str().unwrap(),
                e["started"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        starts,
        vec![
            (aid.as_str(), a_stream.as_str(), "fr", true),
            (bid.as_str(), b_stream.as_str(), "fr", true),
            (aid.as_str(), a_stream.as_str(), "fr", false),
            (bid.as_str(), b_stream.as_str(), "fr", false),
        ],
        "{log:?}"
    );
    let seq_of = |pred: &dyn Fn(&Value) -> bool| {
        log.iter()
            .find(|e| pred(e))
            .and_then(|e| e["seq"].as_u64())
            .unwrap()
    };
    assert!(
        seq_of(&|e| e["type"] == "interpretation"
            && e["stream"] == b_stream.as_str()
            && e["started"] == false)
            < seq_of(&|e| e["type"] == "consultation" && e["started"] == true),
        "the channel ended before the consultation began"
    );
    let on_air: Vec<(&str, Option<&str>)> = log
        .iter()
        .filter(|e| e["type"] == "interpretation_on_air")
        .map(|e| (e["language"].as_str().unwrap(), e["stream"].as_str()))
        .collect();
    assert_eq!(
        on_air,
        vec![
            ("fr", Some(a_stream.as_str())),
            ("fr", Some(b_stream.as_str())),
            ("fr", None),
        ]
    );

    // Each channel is its own sealed file; each gets an audio-only derived copy; the
    // composite is made of the floor only.
    let files_of = |stream: &str| -> std::collections::BTreeSet<String> {
        log.iter()
            .filter(|e| e["type"] == "media_chunk" && e["participant"] == stream)
            .filter_map(|e| e["file"].as_str().map(str::to_owned))
            .collect()
    };
    let derived = |name: &str| -> &Value {
        log.iter()
            .find(|e| e["type"] == "derived_file" && e["file"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no derived {name}: {log:?}"))
    };
    let composite = derived("composite.mp4");
    let from: Vec<&str> = composite["derived_from"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for stream in [&a_stream, &b_stream] {
        let files = files_of(stream);
        assert!(!files.is_empty(), "{stream} recorded as its own file");
        for f in &files {
            assert!(f.starts_with(stream.as_str()), "{f}");
            assert!(!from.contains(&f.as_str()), "the composite leaves out {f}");
        }
        let copy = log
            .iter()
            .find(|e| {
                e["type"] == "derived_file"
                    && e["file"]
                        .as_str()
                        .is_some_and(|f| f.starts_with(&format!("{stream}.")))
            })
            .unwrap_or_else(|| panic!("no derived copy of {stream}"));
        let name = copy["file"].as_str().unwrap();
        let streams = common::media::streams_of(&bundle.join("derived").join(name));
        assert_eq!(streams, vec!["audio:opus".to_owned()], "{name}");
    }
    assert!(
        files_of(&wid).iter().all(|f| from.contains(&f.as_str())),
        "the composite carries the floor"
    );
    common::media::assert_verifies(env!("CARGO_BIN_EXE_sworn-verify"), &bundle);
    // The minutes name each channel's language, interpreter and stream, and the handover.
    let minutes = common::media::minutes_of(&bundle);
    for line in [
        format!(
            "{aid} began interpreting into French on channel 1 (recorded as stream {a_stream})"
        ),
        format!(
            "{bid} began interpreting into French on channel 2 (recorded as stream {b_stream})"
        ),
        format!("from now on, listeners of French hear stream {a_stream}"),
        format!("from now on, listeners of French hear stream {b_stream}"),
        format!("{aid} stopped interpreting into French on channel 1"),
        "no interpretation into French is left".to_owned(),
    ] {
        assert!(minutes.contains(&line), "minutes lack {line:?}");
    }
    server.stop().await;
}
