//! Crash recovery of the durable log, and the server key file.
#![cfg(feature = "evidence")]

#[path = "vectors/hearing.rs"]
mod hearing;

use std::fs::OpenOptions;
use std::io::Write as _;

use ed25519_dalek::SigningKey;
use hearing::{Clock, T0, server_key};
use sworn::evidence::{HearingLog, LogError, ServerKey, write_bundle};
use sworn::verify::entry::{EntryBody, decode};
use sworn::verify::{VerifyOptions, verify_bundle};
use sworn::verify_cli::DirSource;

const ORIGIN: &str = "court.example/hearing/h-crash";

fn marker(log: &mut HearingLog, clock: &mut Clock, label: &str) -> u64 {
    log.append(
        EntryBody::Marker {
            label: label.into(),
            by: None,
        },
        clock.tick(),
    )
    .unwrap()
}

#[test]
fn torn_write_and_uncheckpointed_entries_are_recovered_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let key = server_key();
    let mut clock = Clock(T0 * 1000);
    let judge = SigningKey::from_bytes(&[1u8; 32]);
    let witness = SigningKey::from_bytes(&[2u8; 32]);
    let mut log = hearing::open_hearing(&dir, "h-crash", &key, &mut clock, &judge, &witness);
    let (cp_size, _) = log.latest_checkpoint().unwrap();
    marker(&mut log, &mut clock, "after checkpoint 1");
    marker(&mut log, &mut clock, "after checkpoint 2");
    let size_before = log.size();
    drop(log); // crash: no checkpoint over the last two entries
    // A torn write: half a line at the end.
    let mut f = OpenOptions::new()
        .append(true)
        .open(dir.join("entries.jsonl"))
        .unwrap();
    f.write_all(br#"{"hearing":"h-crash","label":"half wri"#)
        .unwrap();
    drop(f);

    let (mut log, rec) = HearingLog::open(&dir, "h-crash", ORIGIN, &key, clock.tick()).unwrap();
    assert!(rec.interrupted());
    assert_eq!(rec.torn_bytes, 38);
    assert_eq!(rec.uncheckpointed, Some((cp_size, size_before)));
    let seq = rec.recovered_seq.unwrap();
    assert_eq!(seq, size_before);
    // The recovery entry is in the log and a checkpoint covers it.
    let text = std::fs::read_to_string(dir.join("entries.jsonl")).unwrap();
    let last = decode(text.lines().last().unwrap().as_bytes()).unwrap();
    assert_eq!(
        last.body,
        EntryBody::RecoveredAfterInterruption {
            from_seq: cp_size,
            to_seq: size_before,
            torn_bytes: 38
        }
    );
    assert_eq!(log.latest_checkpoint().unwrap().0, seq + 1);
    assert!(!text.contains("half wri"));

    marker(&mut log, &mut clock, "resumed");
    log.append(
        EntryBody::HearingClosed {
            reason: "closed_by_judge".into(),
        },
        clock.tick(),
    )
    .unwrap();
    log.checkpoint(&key).unwrap();
    assert!(matches!(
        log.append(
            EntryBody::Marker {
                label: "late".into(),
                by: None,
            },
            clock.tick()
        ),
        Err(LogError::Closed)
    ));
    drop(log);

    // A clean reopen after the final checkpoint is not an interruption.
    let (_log, rec) = HearingLog::open(&dir, "h-crash", ORIGIN, &key, clock.tick()).unwrap();
    assert!(!rec.interrupted());

    let out = tmp.path().join("bundle");
    write_bundle(&dir, &tmp.path().join("no-media"), &key, &[], &out).unwrap();
    let report = verify_bundle(
        &DirSource::open(&out).unwrap(),
        &VerifyOptions {
            trusted_key: Some(key.verifying_key()),
            trusted_history: None,
            timestamps: None,
            ..Default::default()
        },
    );
    assert!(report.valid, "{}", report.to_text());
    assert_eq!(report.interruptions.len(), 1);
    assert_eq!(report.interruptions[0].from_seq, cp_size);
    let text = report.to_text();
    assert!(text.contains("recording was interrupted"), "{text}");
}

#[test]
fn closed_but_uncheckpointed_log_is_reclosed_after_recovery() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let key = server_key();
    let mut clock = Clock(T0 * 1000);
    let k = SigningKey::from_bytes(&[1u8; 32]);
    let mut log = hearing::open_hearing(&dir, "h-crash", &key, &mut clock, &k, &k);
    log.append(
        EntryBody::HearingClosed {
            reason: "closed_by_judge".into(),
        },
        clock.tick(),
    )
    .unwrap();
    drop(log);
    let (log, rec) = HearingLog::open(&dir, "h-crash", ORIGIN, &key, clock.tick()).unwrap();
    assert!(rec.interrupted());
    assert!(log.is_closed());
    let out = tmp.path().join("bundle");
    write_bundle(&dir, &tmp.path().join("none"), &key, &[], &out).unwrap();
    let report = verify_bundle(&DirSource::open(&out).unwrap(), &VerifyOptions::default());
    assert!(report.valid, "{}", report.to_text());
}

#[test]
fn corrupt_complete_line_or_lost_checkpointed_entries_refuse_to_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let key = server_key();
    let mut clock = Clock(T0 * 1000);
    let k = SigningKey::from_bytes(&[1u8; 32]);
    let log = hearing::open_hearing(&dir, "h-crash", &key, &mut clock, &k, &k);
    drop(log);
    let path = dir.join("entries.jsonl");
    let good = std::fs::read(&path).unwrap();

    // A complete middle line altered: never silently continued.
    let bad = String::from_utf8(good.clone())
        .unwrap()
        .replacen("\"seq\":2", "\"seq\":7", 1);
    std::fs::write(&path, bad).unwrap();
    assert!(matches!(
        HearingLog::open(&dir, "h-crash", ORIGIN, &key, clock.tick()),
        Err(LogError::Corrupt { line: 2, .. })
    ));

    // Entries covered by a signed checkpoint are gone.
    let text = String::from_utf8(good.clone()).unwrap();
    let first_two: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, first_two).unwrap();
    assert!(matches!(
        HearingLog::open(&dir, "h-crash", ORIGIN, &key, clock.tick()),
        Err(LogError::BadCheckpoint { .. })
    ));

    // Another server key cannot continue the log.
    std::fs::write(&path, &good).unwrap();
    assert!(matches!(
        HearingLog::open(
            &dir,
            "h-crash",
            ORIGIN,
            &hearing::other_server_key(),
            clock.tick()
        ),
        Err(LogError::BadCheckpoint { .. })
    ));
    assert!(HearingLog::open(&dir, "h-crash", ORIGIN, &key, clock.tick()).is_ok());
}

#[test]
fn server_key_file_is_private_and_stable() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("keys/server.key");
    let a = ServerKey::load_or_create(&p, "court.example").unwrap();
    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let b = ServerKey::load_or_create(&p, "court.example").unwrap();
    assert_eq!(a.verifying_key(), b.verifying_key());
    assert!(a.vkey().starts_with("court.example+"));
    assert!(!format!("{a:?}").contains("PRIVATE"));
    // openssl reads the key file and derives the same public key.
    let out = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), a.public_pem());
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(ServerKey::load_or_create(&p, "court.example").is_err());
    assert!(ServerKey::load_or_create(&tmp.path().join("x"), "bad name").is_err());
}

#[test]
fn files_a_crash_left_half_way_are_removed_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let key = server_key();
    let mut clock = Clock(T0 * 1000);
    let k = SigningKey::from_bytes(&[1u8; 32]);
    let log = hearing::open_hearing(&dir, "h-crash", &key, &mut clock, &k, &k);
    drop(log);
    // A proof written for a checkpoint whose note never landed, and attestation files
    // written before their entry.
    std::fs::write(dir.join("proofs/000099.consistency.json"), b"{}").unwrap();
    std::fs::write(dir.join("attestations/0001-oath.json"), b"{}").unwrap();
    std::fs::write(dir.join("attestations/0001-oath.sig"), [0u8; 64]).unwrap();
    let (mut log, rec) = HearingLog::open(&dir, "h-crash", ORIGIN, &key, clock.tick()).unwrap();
    assert!(!rec.interrupted());
    assert!(!dir.join("proofs/000099.consistency.json").exists());
    assert!(!dir.join("attestations/0001-oath.json").exists());
    log.append(
        EntryBody::HearingClosed {
            reason: "closed_by_judge".into(),
        },
        clock.tick(),
    )
    .unwrap();
    log.checkpoint(&key).unwrap();
    let out = tmp.path().join("bundle");
    write_bundle(&dir, &tmp.path().join("none"), &key, &[], &out).unwrap();
    let report = verify_bundle(&DirSource::open(&out).unwrap(), &VerifyOptions::default());
    assert!(report.valid, "{}", report.to_text());
}

#[test]
fn append_refuses_entries_the_verifier_would_reject() {
    let tmp = tempfile::tempdir().unwrap();
    let key = server_key();
    let mut clock = Clock(T0 * 1000);
    let k = SigningKey::from_bytes(&[1u8; 32]);
    let mut log = hearing::open_hearing(&tmp.path().join("log"), "h-f", &key, &mut clock, &k, &k);
    let chunk = |file: &str, sha: &str, wall: &str| EntryBody::MediaChunk {
        file: file.into(),
        offset: 0,
        length: 1,
        sha256: sha.into(),
        media_start_ms: 0,
        media_end_ms: 1,
        wall_start: wall.into(),
        wall_end: "2026-11-29T17:30:01.000Z".into(),
        participant: None,
        track: None,
    };
    let good_sha = "ab".repeat(32);
    let wall = "2026-11-29T17:30:00.000Z";
    assert!(matches!(
        log.append(chunk("../x.webm", &good_sha, wall), clock.tick()),
        Err(LogError::UnsafePath)
    ));
    assert!(matches!(
        log.append(chunk("a.webm", "AB", wall), clock.tick()),
        Err(LogError::BadField(_))
    ));
    assert!(matches!(
        log.append(chunk("a.webm", &good_sha, "17:30"), clock.tick()),
        Err(LogError::BadField(_))
    ));
    let size = log.size();
    log.append(chunk("a.webm", &good_sha, wall), clock.tick())
        .unwrap();
    assert_eq!(log.size(), size + 1);
    assert!(matches!(
        log.append(
            EntryBody::KeyBound {
                participant: "p".into(),
                public_key: "not-a-key".into(),
                alg: None,
            },
            clock.tick()
        ),
        Err(LogError::BadPublicKey)
    ));
    assert_eq!(log.size(), size + 1, "refused entries are not written");
}

#[test]
fn media_written_after_the_last_chunk_is_committed_and_sealed_after_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let media = tmp.path().join("media");
    let key = server_key();
    let mut clock = Clock(T0 * 1000);
    let k = SigningKey::from_bytes(&[1u8; 32]);
    let file = "p-w/audio.webm";
    hearing::make_media(&media.join(file), false);
    let full = std::fs::read(media.join(file)).unwrap();
    let half = full.len() / 2;
    // The recorder had written only the first half when the first chunks were logged.
    std::fs::write(media.join(file), &full[..half]).unwrap();
    let mut log = hearing::open_hearing(&dir, "h-crash", &key, &mut clock, &k, &k);
    hearing::commit_file(&mut log, &key, &mut clock, &media, file, "p-w", 2);
    drop(log); // crash; meanwhile the recorder wrote the rest of the file
    std::fs::write(media.join(file), &full).unwrap();

    let (mut log, rec) = HearingLog::open(&dir, "h-crash", ORIGIN, &key, clock.tick()).unwrap();
    assert_eq!(log.unsealed_media(), vec![(file.to_string(), half as u64)]);
    let sealed = log.seal_open_media(&media, clock.tick()).unwrap();
    assert_eq!(sealed, vec![file.to_string()]);
    assert!(log.unsealed_media().is_empty());
    log.append(
        EntryBody::HearingClosed {
            reason: "closed_by_judge".into(),
        },
        clock.tick(),
    )
    .unwrap();
    log.checkpoint(&key).unwrap();
    let out = tmp.path().join("bundle");
    write_bundle(&dir, &media, &key, &[], &out).unwrap();
    let report = verify_bundle(&DirSource::open(&out).unwrap(), &VerifyOptions::default());
    assert!(report.valid, "{}", report.to_text());
    let _ = rec;

    // A file that lost committed bytes is refused, never sealed.
    let tmp2 = tempfile::tempdir().unwrap();
    let dir2 = tmp2.path().join("log");
    let mut log = hearing::open_hearing(&dir2, "h-crash", &key, &mut clock, &k, &k);
    hearing::commit_file(&mut log, &key, &mut clock, &media, file, "p-w", 2);
    std::fs::write(media.join(file), &full[..10]).unwrap();
    assert!(matches!(
        log.seal_open_media(&media, clock.tick()),
        Err(LogError::MediaTruncated(_))
    ));
}
