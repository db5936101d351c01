//! The verifier never panics and never accepts on arbitrary input: random byte flips,
//! truncations and garbage in any file of a real bundle, and arbitrary bytes fed to
//! every parser.
#![cfg(feature = "evidence")]

#[path = "vectors/hearing.rs"]
mod hearing;

use std::sync::OnceLock;

use proptest::prelude::*;
use sworn::verify::keys::{parse_public_key_pem, parse_vkey};
use sworn::verify::{MemorySource, VerifyOptions, verify_bundle};

fn clean() -> &'static (MemorySource, hearing::Built) {
    static F: OnceLock<(MemorySource, hearing::Built)> = OnceLock::new();
    F.get_or_init(|| {
        let b = hearing::build("h-robust");
        (hearing::load(&b.bundle), b)
    })
}

fn opts() -> VerifyOptions<'static> {
    VerifyOptions {
        trusted_key: Some(hearing::server_key().verifying_key()),
        trusted_history: None,
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5302_2026), ..ProptestConfig::default() })]

    #[test]
    fn any_single_change_is_rejected(file in any::<prop::sample::Index>(),
                                     pos in any::<prop::sample::Index>(),
                                     mask in 1u8..=255,
                                     mode in 0u8..3,
                                     reindex in any::<bool>()) {
        let mut s = clean().0.clone();
        let names: Vec<String> = s.files.keys().cloned().collect();
        let name = file.get(&names).clone();
        let bytes = s.files.get_mut(&name).unwrap();
        let i = pos.index(bytes.len());
        match mode {
            0 => bytes[i] ^= mask,
            1 => bytes.truncate(i),
            _ => bytes.insert(i, mask),
        }
        if reindex && name != "manifest.json" && name != "SHA256SUMS" {
            hearing::reindex(&mut s);
        }
        let r = verify_bundle(&s, &opts());
        prop_assert!(!r.valid, "accepted a change to {} (mode {}):\n{}", name, mode, r.to_text());
    }

    #[test]
    fn parsers_survive_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = sworn::verify::canonical::parse_canonical(&bytes);
        let _ = sworn::verify::entry::decode(&bytes);
        let _ = sworn::verify::attestation::parse_statement(&bytes);
        let _ = sworn::verify::note::parse_checkpoint(&text);
        let _ = parse_vkey(&text);
        let _ = parse_public_key_pem(&text);
        let _ = sworn::verify::clock::parse_ms(&text);
        let v = parse_vkey("court.example+00000000+AQ==");
        prop_assert!(v.is_err());
    }

    #[test]
    fn notes_with_garbage_never_verify(prefix in proptest::collection::vec(any::<u8>(), 0..200)) {
        let key = hearing::server_key();
        let v = parse_vkey(&key.vkey()).unwrap();
        let mut note = prefix.clone();
        note.extend_from_slice("\n\n\u{2014} court.example AAAA\n".as_bytes());
        prop_assert!(sworn::verify::note::verify_note(&note, &v).is_err());
    }
}

#[test]
fn empty_bundle_and_lone_files_are_invalid() {
    let r = verify_bundle(&MemorySource::default(), &VerifyOptions::default());
    assert!(!r.valid);
    let mut s = MemorySource::default();
    s.files.insert(
        "manifest.json".into(),
        clean().0.files["manifest.json"].clone(),
    );
    assert!(!verify_bundle(&s, &VerifyOptions::default()).valid);
}
