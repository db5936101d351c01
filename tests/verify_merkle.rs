//! RFC 6962 Merkle hashing: known answers and property tests.
//!
//! Known-answer vectors: the certificate-transparency reference test vectors (RFC 6962
//! merkle tree tests of google/certificate-transparency, republished as
//! transparency-dev/merkle `testonly/constants.go`: leaves, roots for sizes 0..=8,
//! inclusion paths and consistency proofs).

use proptest::prelude::*;
use sworn::verify::merkle::{
    CompactRange, Hash, MerkleError, consistency_proof, empty_root, inclusion_proof, leaf_hash,
    root, verify_consistency, verify_inclusion,
};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn ct_leaves(n: usize) -> Vec<Hash> {
    LEAVES[..n]
        .iter()
        .map(|l| leaf_hash(&hex::decode(l).unwrap()))
        .collect()
}

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    assert_eq!(
        hex::encode(empty_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(root(&[]), empty_root());
    assert_eq!(CompactRange::new().root(), empty_root());
}

#[test]
fn roots_of_reference_trees() {
    for n in 1..=8 {
        assert_eq!(hex::encode(root(&ct_leaves(n))), ROOTS[n - 1], "size {n}");
        let mut cr = CompactRange::new();
        for l in ct_leaves(n) {
            cr.push(l);
        }
        assert_eq!(hex::encode(cr.root()), ROOTS[n - 1], "incremental size {n}");
    }
}

#[test]
fn reference_inclusion_paths() {
    let cases: [(u64, usize, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, n, want) in cases {
        let leaves = ct_leaves(n);
        let got = inclusion_proof(&leaves, index).unwrap();
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        assert_eq!(got, want, "path {index} in {n}");
        verify_inclusion(
            index,
            n as u64,
            &leaves[index as usize],
            &want,
            &h(ROOTS[n - 1]),
        )
        .unwrap();
    }
}

#[test]
fn reference_consistency_proofs() {
    let cases: [(u64, usize, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (m, n, want) in cases {
        let leaves = ct_leaves(n);
        let got = consistency_proof(&leaves, m).unwrap();
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        assert_eq!(got, want, "proof {m} -> {n}");
        verify_consistency(
            m,
            n as u64,
            &h(ROOTS[m as usize - 1]),
            &h(ROOTS[n - 1]),
            &want,
        )
        .unwrap();
    }
}

#[test]
fn rejects_bad_requests_and_empty_proofs() {
    let leaves = ct_leaves(8);
    assert!(matches!(
        inclusion_proof(&leaves, 8),
        Err(MerkleError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        consistency_proof(&leaves, 0),
        Err(MerkleError::InvalidSizes { .. })
    ));
    let r8 = h(ROOTS[7]);
    let r6 = h(ROOTS[5]);
    // An empty proof never proves growth.
    assert!(verify_consistency(6, 8, &r6, &r8, &[]).is_err());
    assert!(verify_inclusion(3, 8, &leaves[3], &[], &r8).is_err());
    // Old size 0 or old > new.
    assert!(verify_consistency(0, 8, &empty_root(), &r8, &[]).is_err());
    assert!(verify_consistency(8, 6, &r8, &r6, &[]).is_err());
    // Equal sizes need equal roots.
    assert!(verify_consistency(8, 8, &r8, &r6, &[]).is_err());
}

fn leaves_of(n: usize, salt: u8) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(&[salt, (i & 0xff) as u8, (i >> 8) as u8]))
        .collect()
}

/// Every index of every size 1..=64; every consistency pair of sizes 1..=64.
#[test]
fn all_small_trees_prove_and_reject_mutations() {
    for n in 1..=64usize {
        let leaves = leaves_of(n, 7);
        let r = root(&leaves);
        for i in 0..n as u64 {
            let p = inclusion_proof(&leaves, i).unwrap();
            verify_inclusion(i, n as u64, &leaves[i as usize], &p, &r).unwrap();
            // wrong leaf
            assert!(verify_inclusion(i, n as u64, &leaf_hash(b"x"), &p, &r).is_err());
            // index +-1
            if i + 1 < n as u64 {
                assert!(verify_inclusion(i + 1, n as u64, &leaves[i as usize], &p, &r).is_err());
            }
            if i > 0 {
                assert!(verify_inclusion(i - 1, n as u64, &leaves[i as usize], &p, &r).is_err());
            }
            // size x2
            assert!(verify_inclusion(i, 2 * n as u64, &leaves[i as usize], &p, &r).is_err());
            // flipped bit in each component, removed / added component
            for j in 0..p.len() {
                let mut bad = p.clone();
                bad[j][j % 32] ^= 1;
                assert!(verify_inclusion(i, n as u64, &leaves[i as usize], &bad, &r).is_err());
            }
            if !p.is_empty() {
                let short = &p[..p.len() - 1];
                assert!(verify_inclusion(i, n as u64, &leaves[i as usize], short, &r).is_err());
            }
            let mut long = p.clone();
            long.push(r);
            assert!(verify_inclusion(i, n as u64, &leaves[i as usize], &long, &r).is_err());
        }
        for m in 1..=n {
            let rm = root(&leaves[..m]);
            let p = consistency_proof(&leaves, m as u64).unwrap();
            verify_consistency(m as u64, n as u64, &rm, &r, &p).unwrap();
            if m < n {
                // wrong old root, wrong new root, flipped bit, truncated
                assert!(verify_consistency(m as u64, n as u64, &r, &r, &p).is_err());
                assert!(verify_consistency(m as u64, n as u64, &rm, &rm, &p).is_err());
                for j in 0..p.len() {
                    let mut bad = p.clone();
                    bad[j][0] ^= 0x80;
                    assert!(verify_consistency(m as u64, n as u64, &rm, &r, &bad).is_err());
                }
                assert!(
                    verify_consistency(m as u64, n as u64, &rm, &r, &p[..p.len() - 1]).is_err()
                );
                let mut long = p.clone();
                long.push(rm);
                assert!(verify_consistency(m as u64, n as u64, &rm, &r, &long).is_err());
            }
        }
    }
}

proptest! {
    #[test]
    fn random_inclusion(n in 1usize..600, seed in any::<u8>(), idx in any::<u64>()) {
        let leaves = leaves_of(n, seed);
        let i = idx % n as u64;
        let r = root(&leaves);
        let p = inclusion_proof(&leaves, i).unwrap();
        prop_assert!(verify_inclusion(i, n as u64, &leaves[i as usize], &p, &r).is_ok());
        // The same proof against the root of a different history must fail. (A size
        // change alone can keep the same path shape; the signed checkpoint binds size
        // and root together, which is why every root must come from one.)
        let other = root(&leaves_of(n, seed.wrapping_add(1)));
        prop_assert!(verify_inclusion(i, n as u64, &leaves[i as usize], &p, &other).is_err());
    }

    #[test]
    fn random_consistency(n in 2usize..600, seed in any::<u8>(), m in any::<u64>()) {
        let leaves = leaves_of(n, seed);
        let m = 1 + m % (n as u64 - 1);
        let p = consistency_proof(&leaves, m).unwrap();
        let rm = root(&leaves[..m as usize]);
        let rn = root(&leaves);
        prop_assert!(verify_consistency(m, n as u64, &rm, &rn, &p).is_ok());
        // A different history of the same sizes must not verify.
        let other = leaves_of(n, seed.wrapping_add(1));
        prop_assert!(verify_consistency(m, n as u64, &root(&other[..m as usize]), &rn, &p).is_err());
    }

    #[test]
    fn compact_range_matches_batch_root(n in 0usize..300, seed in any::<u8>()) {
        let leaves = leaves_of(n, seed);
        let mut cr = CompactRange::new();
        for l in &leaves { cr.push(*l); }
        prop_assert_eq!(cr.root(), root(&leaves));
        prop_assert_eq!(cr.size(), n as u64);
    }
}
