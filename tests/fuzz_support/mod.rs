//! Seed-corpus mutation for the property tests (stable Rust, no cargo-fuzz): seeds from
//! `tests/corpus/<dir>/`, mutated by bit flips, truncation, insertion, removal,
//! duplication and splicing with another seed, or plain random bytes.
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::sample::Index;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The longest one case may take in a debug build before it counts as a hang.
pub const SLOW: Duration = Duration::from_secs(5);

/// Every file of `tests/corpus/<dir>/` whose name ends in `ext`, sorted by name.
pub fn seeds(dir: &str, ext: &str) -> Vec<Vec<u8>> {
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
pub type Loaded = std::sync::Mutex<Vec<(String, &'static [Vec<u8>])>>;

pub fn corpus(dir: &'static str, ext: &'static str) -> &'static [Vec<u8>] {
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
pub enum Mutation {
    Flip(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Remove(Index, u8),
    Duplicate(Index, u8),
    /// This seed up to a point, then another seed from a point.
    Splice(Index, Index, Index),
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
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

pub fn apply(bytes: &mut Vec<u8>, m: &Mutation, others: &[Vec<u8>]) {
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
pub fn mutated(seeds: &'static [Vec<u8>]) -> impl Strategy<Value = Vec<u8>> {
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

pub fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    assert!(t.elapsed() < SLOW, "{what} took {:?}", t.elapsed());
    out
}
