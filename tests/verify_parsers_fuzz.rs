//! Property tests over every parser a bundle reaches (stable Rust, no cargo-fuzz): log
//! entries, canonical JSON, attestation statements, checkpoint notes and keys, RFC 3161
//! tokens and certificates (DER), RFC 4998 evidence records, the zip index and the whole
//! bundle. Inputs are the
//! committed seed corpus `tests/corpus/<parser>/` (real files of a bundle made by
//! `tests/jsverify_fixture.rs`) mutated by bit flips, truncation, insertion, removal,
//! duplication and splicing with other seeds, plus plain random bytes. Every parser must
//! return Ok or its typed error: no panic, no case slower than `SLOW`, and the zip index
//! never asks for more bytes than the archive holds. Where a parser accepts a mutation,
//! the stronger property is checked too (canonical JSON re-encodes to the same bytes; a
//! token still verifies to the original's time).

mod fuzz_support;

use fuzz_support::{corpus, mutated, timed};
use proptest::prelude::*;
use std::sync::OnceLock;
use sworn::verify::bundle::{ConsistencyFile, InclusionFile};
use sworn::verify::keys::{parse_public_key_pem, parse_vkey};
use sworn::verify::zip_index::{self, ReadAt};
use sworn::verify::{MemorySource, VerifyOptions, verify_bundle};

/// The zip seeds' archive, counting what the index asks for.
struct Counting<'a> {
    bytes: &'a [u8],
    asked: u64,
}

impl ReadAt for Counting<'_> {
    fn read_at(&mut self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        assert!(
            len <= self.bytes.len() as u64,
            "asked for {len} bytes of a {}-byte archive",
            self.bytes.len()
        );
        self.asked += len;
        let mut s = self.bytes;
        s.read_at(offset, len)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5302_2026), ..ProptestConfig::default() })]

    #[test]
    fn canonical_json_round_trips_or_is_refused(b in mutated(corpus("canonical", ".json"))) {
        if let Ok(v) = timed("parse_canonical", || sworn::verify::canonical::parse_canonical(&b)) {
            prop_assert_eq!(sworn::verify::canonical::to_canonical(&v).ok(), Some(b.clone()));
        }
        let _ = serde_json::from_slice::<ConsistencyFile>(&b);
        let _ = serde_json::from_slice::<InclusionFile>(&b);
        let _ = serde_json::from_slice::<sworn::verify::bundle::Manifest>(&b);
    }

    #[test]
    fn log_entries_decode_or_are_refused(b in mutated(corpus("entry", ".json"))) {
        if let Ok(e) = timed("entry::decode", || sworn::verify::entry::decode(&b)) {
            let _ = sworn::verify::entry::check_fields(&e.body);
            let _ = sworn::verify::clock::parse_ms(&e.time);
        }
        let _ = sworn::verify::clock::parse_ms(&String::from_utf8_lossy(&b));
    }

    #[test]
    fn statements_parse_or_are_refused(b in mutated(corpus("statement", ".json"))) {
        let _ = timed("parse_statement", || sworn::verify::attestation::parse_statement(&b));
    }

    #[test]
    fn checkpoint_notes_and_keys_parse_or_are_refused(b in mutated(corpus("note", ".note")),
                                                      k in mutated(corpus("keys", ""))) {
        let vkey = parse_vkey(std::str::from_utf8(&corpus("keys", ".vkey")[0]).unwrap()).unwrap();
        let text = String::from_utf8_lossy(&b);
        timed("note", || {
            if let Ok(body) = sworn::verify::note::verify_note(&b, &vkey) {
                // A signed body is one of the seeds' bodies: a mutation can only add
                // or drop what the signature does not cover.
                assert!(corpus("note", ".note").iter().any(|s| s.starts_with(body.as_bytes())));
            }
            let _ = sworn::verify::note::parse_checkpoint(&text);
        });
        let k = String::from_utf8_lossy(&k);
        let _ = timed("keys", || (parse_vkey(&k).is_ok(), parse_public_key_pem(&k).is_ok()));
    }
}

/// The token seed, the note it stamps, the TSA chain, and what the token proves.
struct Der {
    token: Vec<u8>,
    note: Vec<u8>,
    chain: Vec<u8>,
    info: sworn::verify::timestamp::TokenInfo,
}

fn der_fixture() -> &'static Der {
    static F: OnceLock<Der> = OnceLock::new();
    F.get_or_init(|| {
        let token = corpus("der", ".tsr")[0].clone();
        let note = corpus("der", ".note")[0].clone();
        let chain = corpus("der", ".pem")[0].clone();
        let info = sworn::verify::timestamp::verify_token(&token, &note, &chain).unwrap();
        Der {
            token,
            note,
            chain,
            info,
        }
    })
}

proptest! {
    // Each token check verifies ECDSA signatures, each bundle hashes ~75 KB: fewer cases.
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5302_2026), ..ProptestConfig::default() })]

    #[test]
    fn tokens_and_certificates_verify_to_the_original_or_are_refused(
        t in mutated(corpus("der", ".tsr")),
        c in mutated(corpus("der", ".pem")),
    ) {
        use sworn::verify::timestamp::{inspect_token, parse_response, verify_token};
        let Der { token, note, chain, info } = der_fixture();
        timed("token", || {
            if let Ok(got) = verify_token(&t, note, chain) {
                assert_eq!(&got, info, "a changed token verified to another time");
            }
            let _ = inspect_token(&t);
            let _ = parse_response(&t);
            let _ = verify_token(token, note, &c);
        });
    }

    #[test]
    fn evidence_records_parse_and_re_encode_or_are_refused(b in mutated(corpus("archive", ".ers"))) {
        use sworn::verify::archive::{parse, record::encode_record};
        if let Ok(rec) = timed("archive::parse", || parse(&b)) {
            // What parses re-encodes from its stored chains to a record that parses the same.
            let again = encode_record(&rec.digest_algorithms, &rec.chains_raw());
            prop_assert_eq!(parse(&again).ok(), Some(rec));
        }
    }

    #[test]
    fn zips_index_within_their_own_bytes_and_bundles_never_panic(z in mutated(corpus("zip", ".zip"))) {
        let mut src = Counting { bytes: &z, asked: 0 };
        let index = timed("zip index", || zip_index::index(&mut src, z.len() as u64));
        // The tail, the central directory and one local header per entry, at most.
        prop_assert!(src.asked <= 2 * z.len() as u64 + 30 * zip_index::MAX_ENTRIES);
        if let Ok(index) = index {
            let mut mem = MemorySource::default();
            for (name, e) in &index {
                let start = usize::try_from(e.data_start).unwrap();
                let end = start + usize::try_from(e.size).unwrap();
                prop_assert!(end <= z.len());
                mem.files.insert(name.clone(), z[start..end].to_vec());
            }
            let r = timed("verify_bundle", || verify_bundle(&mem, &VerifyOptions::default()));
            prop_assert!(r.valid == (r.failures().count() == 0 && !r.checks.is_empty()));
        }
    }
}
