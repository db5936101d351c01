//! Scale measurement (ignored by default; run in release):
//! `cargo test --release --no-default-features --features evidence --test evidence_scale -- --ignored --nocapture`
//! A two-hour hearing's worth of log: 28,800 media chunks (4 tracks x 1/s), a checkpoint
//! every 40 entries (10 s), then bundle + verify.
#![cfg(feature = "evidence")]

#[path = "vectors/hearing.rs"]
mod hearing;

use std::time::Instant;

use ed25519_dalek::SigningKey;
use hearing::{Clock, T0, server_key, sha_hex};
use sworn::evidence::write_bundle;
use sworn::verify::entry::EntryBody;
use sworn::verify::{VerifyOptions, verify_bundle};
use sworn::verify_cli::{DirSource, ZipSource};

#[test]
#[ignore]
fn two_hour_hearing_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let media = tmp.path().join("media");
    let key = server_key();
    let mut clock = Clock(T0 * 1000);
    let k = SigningKey::from_bytes(&[1u8; 32]);
    let mut log = hearing::open_hearing(&dir, "h-scale", &key, &mut clock, &k, &k);
    let tracks = [
        "a/video.webm",
        "a/audio.webm",
        "b/video.webm",
        "b/audio.webm",
    ];
    let mut files: Vec<Vec<u8>> = vec![Vec::new(); 4];
    for t in tracks {
        std::fs::create_dir_all(media.join(t).parent().unwrap()).unwrap();
    }
    let started = Instant::now();
    let mut cp_time = std::time::Duration::ZERO;
    let mut n_cp = 0;
    for second in 0..7200u64 {
        for (i, t) in tracks.iter().enumerate() {
            let chunk: Vec<u8> = (0..1000u32)
                .map(|j| (j as u64 * 31 + second * 7 + i as u64) as u8)
                .collect();
            let off = files[i].len() as u64;
            files[i].extend_from_slice(&chunk);
            log.append(
                EntryBody::MediaChunk {
                    file: (*t).into(),
                    offset: off,
                    length: chunk.len() as u64,
                    sha256: sha_hex(&chunk),
                    media_start_ms: (second * 1000) as i64,
                    media_end_ms: ((second + 1) * 1000) as i64,
                    wall_start: sworn::verify::clock::format_ms(clock.0),
                    wall_end: sworn::verify::clock::format_ms(clock.0 + 1000),
                    participant: None,
                    track: None,
                },
                clock.tick(),
            )
            .unwrap();
        }
        if second % 10 == 9 {
            let t = Instant::now();
            log.checkpoint(&key).unwrap();
            cp_time += t.elapsed();
            n_cp += 1;
        }
    }
    for (i, t) in tracks.iter().enumerate() {
        std::fs::write(media.join(t), &files[i]).unwrap();
        log.append(
            EntryBody::FileSealed {
                file: (*t).into(),
                length: files[i].len() as u64,
                sha256: sha_hex(&files[i]),
            },
            clock.tick(),
        )
        .unwrap();
    }
    log.append(
        EntryBody::HearingClosed {
            reason: "closed_by_judge".into(),
        },
        clock.tick(),
    )
    .unwrap();
    log.checkpoint(&key).unwrap();
    let produce = started.elapsed();
    let size = log.size();
    drop(log);
    let t = Instant::now();
    let (_log, _) = sworn::evidence::HearingLog::open(
        &dir,
        "h-scale",
        "court.example/hearing/h-scale",
        &key,
        clock.tick(),
    )
    .unwrap();
    let reopen = t.elapsed();
    let t = Instant::now();
    let out = tmp.path().join("bundle");
    let info = write_bundle(&dir, &media, &key, &[], &out).unwrap();
    let bundle = t.elapsed();
    let t = Instant::now();
    let opts = VerifyOptions {
        trusted_key: Some(key.verifying_key()),
        trusted_history: None,
        ..Default::default()
    };
    let r = verify_bundle(&DirSource::open(&out).unwrap(), &opts);
    let verify_dir = t.elapsed();
    assert!(r.valid, "{}", r.to_text());
    let t = Instant::now();
    let r = verify_bundle(&ZipSource::open(&info.zip).unwrap(), &opts);
    let verify_zip = t.elapsed();
    assert!(r.valid);
    let log_bytes = std::fs::metadata(dir.join("entries.jsonl")).unwrap().len();
    println!(
        "entries {size} ({log_bytes} bytes), {n_cp} checkpoints\n\
         produce {produce:?} (of which checkpoints {cp_time:?}), reopen {reopen:?}\n\
         bundle {bundle:?} ({} files), verify dir {verify_dir:?}, verify zip {verify_zip:?}",
        info.files
    );
}
