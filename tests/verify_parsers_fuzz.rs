//! Property tests over every parser a bundle reaches (stable Rust, no cargo-fuzz): log
//! entries, canonical JSON, attestation statements, checkpoint notes and keys, RFC 3161
//! tokens and certificates (DER), the zip index and the whole bundle. Inputs are the
//! committed seed corpus `tests/corpus/<parser>/` (real files of a bundle made by
//! `tests/jsverify_fixture.rs`) mutated by bit flips, truncation, insertion, removal,
//! duplication and splicing with other seeds, plus plain random bytes. Every parser must
//! return Ok or its typed error: no panic, no case slower than `SLOW`, and the zip index
//! never asks for more bytes than the archive holds. Where a parser accepts a mutation,
//! the stronger property is checked too (canonical JSON re-encodes to the same bytes; a
//! token still verifies to the original's time).

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use sworn::verify::bundle::{ConsistencyFile, InclusionFile};
use sworn::verify::keys::{parse_public_key_pem, parse_vkey};
use sworn::verify::zip_index::{self, ReadAt};
use sworn::verify::{MemorySource, VerifyOptions, verify_bundle};

/// The longest one case may take in a debug build before it counts as a hang.
const SLOW: Duration = Duration::from_secs(5);

/// Every file of `tests/corpus/<dir>/` whose name ends in `ext`, sorted by name.
fn seeds(dir: &str, ext: &str) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(dir);
    let mut names: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no {ext} seeds in {}", root.display());
    names.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Seeds loaded so far, by `dir/ext`.
type Loaded = std::sync::Mutex<Vec<(String, &'static [Vec<u8>])>>;

fn corpus(dir: &'static str, ext: &'static str) -> &'static [Vec<u8>] {
    static C: OnceLock<Loaded> = OnceLock::new();
    let key = format!("{dir}/{ext}");
    let mut all = C.get_or_init(Default::default).lock().unwrap();
    if let Some((_, v)) = all.iter().find(|(k, _)| *k == key) {
        return v;
    }
    let v: &'static [Vec<u8>] = Box::leak(seeds(dir, ext).into_boxed_slice());
    all.push((key, v));
    v
}

/// One change to a seed.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Remove(Index, u8),
    Duplicate(Index, u8),
    /// This seed up to a point, then another seed from a point.
    Splice(Index, Index, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (any::<Index>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        1 => (any::<Index>(), 1u8..32).prop_map(|(i, n)| Mutation::Remove(i, n)),
        1 => (any::<Index>(), 1u8..32).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        1 => (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(a, b, c)| Mutation::Splice(a, b, c)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation, others: &[Vec<u8>]) {
    let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
    match m {
        Mutation::Flip(i, bit) => {
            if !bytes.is_empty() {
                let p = i.index(bytes.len());
                bytes[p] ^= 1 << bit;
            }
        }
        Mutation::Truncate(i) => bytes.truncate(at(i, bytes.len())),
        Mutation::Insert(i, v) => {
            let p = at(i, bytes.len());
            bytes.splice(p..p, v.iter().copied());
        }
        Mutation::Remove(i, n) => {
            let p = at(i, bytes.len());
            let end = (p + usize::from(*n)).min(bytes.len());
            bytes.drain(p..end);
        }
        Mutation::Duplicate(i, n) => {
            let p = at(i, bytes.len());
            let end = (p + usize::from(*n)).min(bytes.len());
            let copy = bytes[p..end].to_vec();
            bytes.splice(end..end, copy);
        }
        Mutation::Splice(i, which, from) => {
            let other = which.get(others);
            bytes.truncate(at(i, bytes.len()));
            bytes.extend_from_slice(&other[at(from, other.len()).min(other.len())..]);
        }
    }
}

/// A seed of `seeds` changed by one to four mutations, or (one case in eight) random bytes.
fn mutated(seeds: &'static [Vec<u8>]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        7 => (any::<Index>(), proptest::collection::vec(mutation(), 1..5)).prop_map(move |(s, ms)| {
            let mut b = s.get(seeds).clone();
            for m in &ms {
                apply(&mut b, m, seeds);
            }
            b
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..512),
    ]
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    assert!(t.elapsed() < SLOW, "{what} took {:?}", t.elapsed());
    out
}

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
    #![proptest_config(ProptestConfig { cases: 4096, failure_persistence: None, ..ProptestConfig::default() })]

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
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

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
