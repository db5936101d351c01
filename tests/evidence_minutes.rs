//! Minutes rendered from a real hearing log: the facts the log holds, escaped, stable.
#![cfg(feature = "evidence")]

#[path = "vectors/hearing.rs"]
mod hearing;

use ed25519_dalek::SigningKey;
use sworn::evidence::minutes::{MinutesError, render_minutes};
use sworn::verify::entry::EntryBody;

#[test]
fn minutes_state_what_the_log_holds() {
    let b = hearing::build("h-minutes");
    let log = std::fs::read(b.log_dir.join("entries.jsonl")).unwrap();
    let html = render_minutes(&log).unwrap();
    assert_eq!(html, render_minutes(&log).unwrap(), "deterministic");
    for needle in [
        "Minutes of a hearing by video link",
        "2026/CR/0042",
        "MLA-2026-17",
        "<td>p-witness</td><td>witness</td>",
        "p-witness took the oath",
        "p-witness signed a closing statement",
        "p-judge signed a minutes statement",
        "exhibit 3 shown",
        "p-judge/video.webm",
        "closed_by_judge",
        "2026-11-29T17:30:00.500Z",
    ] {
        assert!(html.contains(needle), "missing {needle:?}:\n{html}");
    }
    // The minutes attached to the bundle are exactly these bytes up to the minutes
    // attestation (the close comes after it).
    let bundled = std::fs::read_to_string(b.bundle.join("minutes/minutes.html")).unwrap();
    assert!(bundled.contains("p-witness took the oath"));
    assert!(!bundled.contains("closed_by_judge"));
}

#[test]
fn minutes_escape_names_and_report_interruptions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let key = hearing::server_key();
    let mut clock = hearing::Clock(hearing::T0 * 1000);
    let k = SigningKey::from_bytes(&[1u8; 32]);
    let mut log = hearing::open_hearing(&dir, "h-esc", &key, &mut clock, &k, &k);
    log.append(
        EntryBody::ParticipantInvited {
            participant: "p-x".into(),
            role: "interpreter".into(),
            display_name: Some("<script>alert(1)</script> & \"Ann\"".into()),
        },
        clock.tick(),
    )
    .unwrap();
    log.append(
        EntryBody::Gap {
            participant: Some("p-x".into()),
            track: None,
            wall_start: "2026-11-29T17:31:00.000Z".into(),
            wall_end: "2026-11-29T17:31:04.000Z".into(),
            reason: "packet_loss".into(),
        },
        clock.tick(),
    )
    .unwrap();
    drop(log);
    let html = render_minutes(&std::fs::read(dir.join("entries.jsonl")).unwrap()).unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Ann&quot;"));
    assert!(html.contains("gap in the media of p-x from 2026-11-29T17:31:00.000Z"));
    assert!(matches!(render_minutes(b""), Err(MinutesError::NotOpened)));
    assert!(matches!(
        render_minutes(b"{\"v\":1}\n"),
        Err(MinutesError::BadEntry { line: 0, .. })
    ));
}
