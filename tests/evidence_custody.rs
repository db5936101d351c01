//! The server-wide custody log: the same durable log type with origin
//! `<server>/custody`, carried in a bundle under `custody/` and verified there.
#![cfg(feature = "evidence")]

#[path = "vectors/hearing.rs"]
mod hearing;

use sworn::evidence::convert::{CUSTODY_LOG_ID, custody_origin};
use sworn::evidence::{ExtraFile, ExtraSource, HearingLog, write_bundle};
use sworn::verify::entry::EntryBody;
use sworn::verify::{MemorySource, Status, VerifyError, VerifyOptions, verify_bundle};

fn extras_from(dir: &std::path::Path, prefix: &str, sub: &str) -> Vec<ExtraFile> {
    let mut out = Vec::new();
    let d = dir.join(sub);
    if !d.exists() {
        return out;
    }
    for e in std::fs::read_dir(&d).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if p.is_file() && !name.starts_with('.') {
            let rel = if sub.is_empty() {
                name
            } else {
                format!("{sub}/{name}")
            };
            out.push(ExtraFile {
                path: format!("{prefix}{rel}"),
                source: ExtraSource::File(p),
            });
        }
    }
    out
}

#[test]
fn custody_log_in_a_bundle_verifies_and_tampering_is_named() {
    let b = hearing::build("h-custody");
    let key = hearing::server_key();
    let mut clock = hearing::Clock((hearing::T0 + 7200) * 1000);
    let cdir = b.tmp.path().join("custody-log");
    let origin = custody_origin(hearing::SERVER);
    let (mut custody, _) =
        HearingLog::open(&cdir, CUSTODY_LOG_ID, &origin, &key, clock.tick()).unwrap();
    for (user, result) in [("u-prosecutor", "served"), ("u-defence", "served")] {
        custody
            .append(
                EntryBody::Retrieval {
                    user: user.into(),
                    retrieved_hearing: "h-custody".into(),
                    what: "bundle.zip".into(),
                    result: result.into(),
                },
                clock.tick(),
            )
            .unwrap();
        // Appended and signed before the first byte is served.
        custody.checkpoint(&key).unwrap();
    }
    let mut extras = Vec::new();
    for (p, sub) in [
        ("custody/", ""),
        ("custody/", "checkpoints"),
        ("custody/", "proofs"),
    ] {
        extras.extend(extras_from(&cdir, p, sub));
    }
    for f in [
        "minutes/minutes.html",
        "minutes/minutes.sig",
        "tsa/chain.pem",
    ] {
        extras.push(ExtraFile {
            path: f.into(),
            source: ExtraSource::File(b.bundle.join(f)),
        });
    }
    let out = b.tmp.path().join("bundle-custody");
    write_bundle(&b.log_dir, &b.media_dir, &key, &extras, &out).unwrap();
    let clean = hearing::load(&out);
    assert!(clean.files.contains_key("custody/entries.jsonl"));
    assert!(clean.files.contains_key("custody/checkpoints/000002.note"));
    let verify = |s: &MemorySource| {
        verify_bundle(
            s,
            &VerifyOptions {
                trusted_key: Some(key.verifying_key()),
                ..Default::default()
            },
        )
    };
    let r = verify(&clean);
    assert!(r.valid, "{}", r.to_text());
    for name in [
        "custody.entries",
        "custody.structure",
        "custody.checkpoints",
        "custody.consistency",
    ] {
        assert!(
            r.checks
                .iter()
                .any(|c| c.name == name && c.status == Status::Pass),
            "{name}:\n{}",
            r.to_text()
        );
    }

    // A retrieval record altered after signing.
    let mut s = clean.clone();
    let text = String::from_utf8(s.files["custody/entries.jsonl"].clone()).unwrap();
    s.files.insert(
        "custody/entries.jsonl".into(),
        text.replacen("u-defence", "u-nobody1", 1).into_bytes(),
    );
    hearing::reindex(&mut s);
    let r = verify(&s);
    assert!(!r.valid);
    assert!(
        r.failures()
            .any(|e| matches!(e, VerifyError::RootMismatch { .. })),
        "{}",
        r.to_text()
    );

    // A retrieval dropped (the record of who got the bundle) and the tail re-signed is
    // impossible without the key; dropping the last line leaves the checkpoint beyond it.
    let mut s = clean.clone();
    let first_line: String = text.lines().take(1).map(|l| format!("{l}\n")).collect();
    s.files
        .insert("custody/entries.jsonl".into(), first_line.into_bytes());
    hearing::reindex(&mut s);
    let r = verify(&s);
    assert!(
        r.failures()
            .any(|e| matches!(e, VerifyError::CheckpointSizeInvalid { .. })),
        "{}",
        r.to_text()
    );

    // A hearing checkpoint passed off as a custody checkpoint.
    let mut s = clean.clone();
    let hearing_note = clean.files["log/checkpoints/000008.note"].clone();
    s.files
        .insert("custody/checkpoints/000002.note".into(), hearing_note);
    hearing::reindex(&mut s);
    let r = verify(&s);
    assert!(
        r.failures()
            .any(|e| matches!(e, VerifyError::CheckpointWrongOrigin { .. })),
        "{}",
        r.to_text()
    );
}
