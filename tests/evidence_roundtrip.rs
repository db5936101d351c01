//! Round trip: a realistic synthetic hearing -> bundle directory and zip -> the verifier
//! (library and `sworn-verify` binary) says valid, with every check named.
#![cfg(feature = "evidence")]

#[path = "vectors/hearing.rs"]
mod hearing;

use std::process::Command;

use sworn::verify::{Status, VerifyOptions, verify_bundle};
use sworn::verify_cli::{DirSource, ZipSource};

#[test]
fn clean_bundle_verifies_as_directory_and_zip() {
    let b = hearing::build("h-roundtrip");
    let pinned = hearing::server_key().verifying_key();
    let checker = sworn::verify::bundle::Rfc3161Checker;
    let opts = VerifyOptions {
        trusted_key: Some(pinned),
        trusted_history: None,
        timestamps: Some(&checker),
        ..Default::default()
    };
    let dir = DirSource::open(&b.bundle).unwrap();
    let report = verify_bundle(&dir, &opts);
    assert!(report.valid, "{}", report.to_text());
    for name in [
        "manifest",
        "sha256sums",
        "keys",
        "log.entries",
        "log.structure",
        "checkpoints",
        "checkpoints.final",
        "consistency",
        "media",
        "attestations",
        "minutes",
        "timestamps",
    ] {
        assert!(
            report
                .checks
                .iter()
                .any(|c| c.name == name && c.status == Status::Pass),
            "check {name} did not pass:\n{}",
            report.to_text()
        );
    }
    assert!(report.checks.iter().all(|c| c.status != Status::Fail));
    let zip = ZipSource::open(&b.zip).unwrap();
    let zreport = verify_bundle(&zip, &opts);
    assert!(zreport.valid, "{}", zreport.to_text());
    assert_eq!(zreport.log_size, report.log_size);
    // The zip holds exactly the directory's files, stored (not compressed).
    let mut names = sworn::verify::BundleSource::paths(&zip);
    names.sort();
    assert_eq!(names, sworn::verify::BundleSource::paths(&dir));

    // Media files in the bundle are byte-identical to the recorded ones.
    for f in ["p-judge/video.webm", "p-witness/audio.webm"] {
        assert_eq!(
            std::fs::read(b.media_dir.join(f)).unwrap(),
            std::fs::read(b.bundle.join("media").join(f)).unwrap()
        );
        let probe = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "format=format_name",
                "-of",
                "csv=p=0",
            ])
            .arg(b.bundle.join("media").join(f))
            .output()
            .unwrap();
        assert!(probe.status.success());
        assert!(String::from_utf8_lossy(&probe.stdout).contains("webm"));
    }
}

#[test]
fn cli_binary_accepts_clean_bundle_dir_and_zip() {
    let b = hearing::build("h-cli-ok");
    let bin = env!("CARGO_BIN_EXE_sworn-verify");
    let trust = b.bundle.join("keys/server.pub.pem");
    for target in [&b.bundle, &b.zip] {
        let out = Command::new(bin)
            .arg(target)
            .arg("--trust")
            .arg(&trust)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains("RESULT    VALID"), "{text}");
    }
}

#[test]
fn bundle_writer_leaves_out_uncommitted_media_and_refuses_bad_inputs() {
    use ed25519_dalek::SigningKey;
    use sworn::evidence::{BundleError, write_bundle};
    let b = hearing::build("h-writer");
    let key = hearing::server_key();
    // A stray file in the media directory is not bundled (no entry commits it).
    std::fs::write(b.media_dir.join("stray.webm"), b"never committed").unwrap();
    let out = b.tmp.path().join("bundle2");
    write_bundle(&b.log_dir, &b.media_dir, &key, &[], &out).unwrap();
    assert!(!out.join("media/stray.webm").exists());
    // Existing output is never overwritten.
    assert!(matches!(
        write_bundle(&b.log_dir, &b.media_dir, &key, &[], &out),
        Err(BundleError::OutputExists)
    ));
    // A committed media file that is gone.
    let empty = b.tmp.path().join("empty-media");
    assert!(matches!(
        write_bundle(&b.log_dir, &empty, &key, &[], &b.tmp.path().join("b3")),
        Err(BundleError::MissingMedia(_))
    ));
    // Extra files only under tsa/, minutes/, derived/, custody/.
    let extra = sworn::evidence::ExtraFile {
        path: "log/entries.jsonl".into(),
        source: sworn::evidence::ExtraSource::Bytes(b"x".to_vec()),
    };
    assert!(matches!(
        write_bundle(
            &b.log_dir,
            &b.media_dir,
            &key,
            &[extra],
            &b.tmp.path().join("b4")
        ),
        Err(BundleError::BadExtraPath(_))
    ));
    // A hearing that is not closed cannot be bundled.
    let mut clock = hearing::Clock(hearing::T0 * 1000);
    let k = SigningKey::from_bytes(&[1u8; 32]);
    let open_dir = b.tmp.path().join("open-log");
    let _log = hearing::open_hearing(&open_dir, "h-open", &key, &mut clock, &k, &k);
    assert!(matches!(
        write_bundle(&open_dir, &empty, &key, &[], &b.tmp.path().join("b5")),
        Err(BundleError::LogNotClosed)
    ));
}
