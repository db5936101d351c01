//! End to end: a real hearing with three webrtc-rs participants is recorded, attested
//! (oath, identity, minutes signed by the judge), closed and sealed; the bundle
//! verifies with `sworn-verify`, every media file decodes, its duration matches the
//! time its participant was connected, and `openssl ts -verify` accepts every token.
//! Runs in a loopback-only network namespace (scripts/test).
#![cfg(feature = "server")]

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::TestServer;
use common::media::{assert_decodes, stream_starts};
use common::peer::{Peer, client_api};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};
use sworn::domain::StaffRole;

fn statement(
    kind: &str,
    hearing: &str,
    participant: &str,
    cp: &Value,
    text: &str,
    extra: &[(&str, &str)],
) -> Vec<u8> {
    let mut v = json!({"v": 1, "kind": kind, "hearing": hearing, "participant": participant, "checkpoint": cp, "text": text});
    for (k, x) in extra {
        v[*k] = json!(x);
    }
    sworn::verify::canonical::to_canonical(&v).unwrap()
}

fn attest(p: &Peer, key: &SigningKey, st: &[u8]) {
    let sig = key.sign(st);
    p.send(json!({"type": "attest", "statement": String::from_utf8(st.to_vec()).unwrap(), "signature": URL_SAFE_NO_PAD.encode(sig.to_bytes())}));
}

fn latest_checkpoint(p: &Peer) -> Value {
    p.messages()
        .iter()
        .rev()
        .find(|m| m["type"] == "checkpoint")
        .map(|m| m["checkpoint"].clone())
        .expect("a checkpoint")
}

fn ffprobe_duration(path: &std::path::Path) -> f64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type,start_time",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Live WebM has no duration header: take the last packet time instead.
    if let Some(d) = v["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
    {
        return d;
    }
    common::media::last_pts(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_attested_hearing_seals_into_a_bundle_that_verifies() {
    let server = TestServer::start_with(|c| c.checkpoint_interval = Duration::from_secs(2)).await;
    let judge = server.staff("judge", StaffRole::Judge).await;
    let h = judge.hearing().await;
    let (wid, wtok) = judge.invite(&h, "Witness W", "witness").await;
    let (oid, otok) = judge.invite(&h, "Official O", "official").await;
    let api = client_api();
    let keys: Vec<SigningKey> = (1u8..=3)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();
    let pubkey = |k: &SigningKey| URL_SAFE_NO_PAD.encode(k.verifying_key().to_bytes());

    let mut j = Peer::connect(
        &api,
        &server.ws_url(&format!("/ws/hearings/{h}")),
        judge.cookie.as_deref(),
    )
    .await;
    let jid = j.wait_type("welcome").await["participant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    j.send(json!({"type": "hello", "public_key": pubkey(&keys[0])}));
    judge
        .post(&format!("/api/hearings/{h}/open"), json!({}))
        .await;
    j.publish().await;

    let mut w = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{wtok}")), None).await;
    let mut o = Peer::connect(&api, &server.ws_url(&format!("/ws/join/{otok}")), None).await;
    w.send(json!({"type": "hello", "display_name": "Witness W", "public_key": pubkey(&keys[1])}));
    o.send(json!({"type": "hello", "display_name": "Official O", "public_key": pubkey(&keys[2])}));
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
    // Connected = each peer's media transport is up (each measured on its own).
    let (mut w_at, mut o_at) = (None, None);
    while w_at.is_none() || o_at.is_none() {
        use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState::Connected;
        if w_at.is_none() && w.pc.connection_state() == Connected {
            w_at = Some(Instant::now());
        }
        if o_at.is_none() && o.pc.connection_state() == Connected {
            o_at = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (w_at, o_at) = (w_at.unwrap(), o_at.unwrap());
    w.wait_received(&jid, "video", 10).await;

    // Identity: the official attests the witness's identity.
    o.wait_type("checkpoint").await;
    let cp = latest_checkpoint(&o);
    let st = statement(
        "identity",
        &h,
        &oid,
        &cp,
        "I have seen the witness's passport; present in the room: the witness and me.",
        &[("subject", &wid), ("method", "passport")],
    );
    attest(&o, &keys[2], &st);
    o.wait_for("identity attested", |m| {
        m["type"] == "attested" && m["kind"] == "identity"
    })
    .await;
    // A witness cannot attest identity, and a forged signature is refused.
    let st_bad = statement("identity", &h, &wid, &cp, "x", &[]);
    attest(&w, &keys[1], &st_bad);
    w.wait_for("forbidden", |m| m["code"] == "forbidden").await;

    // Oath: the judge administers it, the witness signs the exact text shown.
    j.send(json!({"type": "start_oath", "participant": wid, "form": "affirmation"}));
    let req = w.wait_type("oath_request").await;
    let text = req["text"].as_str().unwrap().to_owned();
    assert!(text.contains("perjury"));
    let st = statement(
        "oath",
        &h,
        &wid,
        &req["checkpoint"],
        &text,
        &[("form", "affirmation")],
    );
    attest(&w, &SigningKey::from_bytes(&[9; 32]), &st);
    w.wait_for("bad signature refused", |m| m["code"] == "bad_attestation")
        .await;
    attest(&w, &keys[1], &st);
    w.wait_for("oath attested", |m| {
        m["type"] == "attested" && m["kind"] == "oath"
    })
    .await;

    // Talk for a while (the recorders write ~1 s chunks, checkpoints every 2 s): the
    // hearing lasts ~20 s.
    tokio::time::sleep(Duration::from_secs(16)).await;
    let cosign_cp = latest_checkpoint(&w);
    attest(
        &w,
        &keys[1],
        &statement(
            "cosign",
            &h,
            &wid,
            &cosign_cp,
            "I confirm this checkpoint.",
            &[],
        ),
    );
    w.wait_for("cosigned", |m| {
        m["type"] == "attested" && m["kind"] == "cosign"
    })
    .await;

    // Minutes: the judge signs the statement and the exact HTML.
    j.send(json!({"type": "request_minutes"}));
    let draft = j.wait_type("minutes_draft").await;
    let html = draft["html"].as_str().unwrap().to_owned();
    assert!(html.contains("Witness W") && html.contains("Official O"));
    let sha = draft["sha256"].as_str().unwrap().to_owned();
    let st = statement(
        "minutes",
        &h,
        &jid,
        &draft["checkpoint"],
        "Minutes of the hearing, as drafted from the log.",
        &[("minutes_sha256", &sha)],
    );
    attest(&j, &keys[0], &st);
    j.wait_for("minutes statement", |m| {
        m["type"] == "attested" && m["kind"] == "minutes"
    })
    .await;
    j.send(json!({"type": "minutes_signature", "signature": URL_SAFE_NO_PAD.encode(keys[0].sign(html.as_bytes()).to_bytes())}));
    j.wait_for("minutes html", |m| {
        m["type"] == "attested" && m["kind"] == "minutes_html"
    })
    .await;

    let (w_connected, o_connected) = (w_at.elapsed().as_secs_f64(), o_at.elapsed().as_secs_f64());
    judge
        .post(&format!("/api/hearings/{h}/close"), json!({}))
        .await;
    let bundle = server.sealed(&h).await;
    for p in [j, w, o] {
        p.close().await;
    }

    // 1. sworn-verify: valid against the bundle's own key (none pinned: exit 3).
    let report = common::media::assert_verifies_json(env!("CARGO_BIN_EXE_sworn-verify"), &bundle);
    let zip = bundle.with_extension("zip");
    let out = Command::new(env!("CARGO_BIN_EXE_sworn-verify"))
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(sworn::verify_cli::EXIT_VALID_KEY_NOT_PINNED),
        "zip: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );

    // 2. The log holds the facts.
    let entries = std::fs::read_to_string(bundle.join("log/entries.jsonl")).unwrap();
    for t in [
        "hearing_opened",
        "key_bound",
        "participant_admitted",
        "media_chunk",
        "file_sealed",
        "oath_taken",
        "identity_attested",
        "attestation",
        "hearing_closed",
    ] {
        assert!(
            entries.contains(&format!("\"type\":\"{t}\"")),
            "no {t} entry"
        );
    }
    assert!(
        bundle.join("minutes/minutes.html").is_file()
            && bundle.join("minutes/minutes.sig").is_file()
    );

    // 3. Media: one file per participant, decodes, duration within 5 % of the time it
    //    was connected, audio and video starting together (the peers start both at once).
    let mut files: Vec<_> = std::fs::read_dir(bundle.join("media"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    for f in &files {
        assert_decodes(f);
        let d = ffprobe_duration(f);
        let (a, v) = stream_starts(f);
        println!(
            "{}: {d:.2} s recorded; audio starts {a:.3} s, video {v:.3} s",
            f.display()
        );
        assert!((a - v).abs() <= 0.1, "{f:?}: audio {a} s, video {v} s");
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let connected = if name.starts_with(&wid) {
            w_connected
        } else if name.starts_with(&oid) {
            o_connected
        } else {
            continue; // the judge: connected before the hearing opened
        };
        assert!(
            (d - connected).abs() <= connected * 0.05,
            "{f:?}: {d} s vs {connected} s"
        );
    }

    // 4. Independent checks: sha256sum and openssl ts -verify on every token.
    let out = Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut tokens = 0;
    for e in std::fs::read_dir(bundle.join("log/checkpoints")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "tsr") {
            let note = p.with_extension("note");
            let out = Command::new("openssl")
                .args(["ts", "-verify", "-token_in", "-in"])
                .arg(&p)
                .arg("-data")
                .arg(&note)
                .arg("-CAfile")
                .arg(bundle.join("tsa/chain.pem"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{p:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            tokens += 1;
        }
    }
    assert!(tokens >= 3, "only {tokens} time-stamp tokens");
    let _ = STANDARD;
    server.stop().await;
}
