//! The hash rules of an evidence record (RFC 4998 §4.2, §4.3, §5.2, §5.3), as sworn
//! applies them; docs/bundle-format.md §14 states the same in prose.
//!
//! - The hash of a list of hash values: the values sorted in binary ascending order
//!   (unsigned bytes, as `memcmp`), concatenated, hashed. No special case for a list of
//!   one value.
//! - The root of a reduced hash tree: the hash of the first list; then, for each
//!   further list, that value joins the list (unless it is already in it) and the
//!   list is hashed again. The last value is the root, the token's imprint.
//! - Data leaves of the first chain: H(d) per data object (file bytes).
//! - Data leaves of chain i > 1 (hash-tree renewal, §5.3): H(H(d) ‖ H(atsc)), where atsc is
//!   the DER ArchiveTimeStampSequence of chains 1..i-1 as stored, H the new chain's
//!   algorithm.
//! - The leaf of a later archive time-stamp in a chain (time-stamp renewal, §5.2):
//!   H(DER of the previous archive time-stamp's `timeStamp` field, as stored).
//!
//! Pure functions; must never panic.

use super::record::encode_sequence;
use crate::verify::hash_alg::HashAlg;

/// The hash of a list: sorted, concatenated, hashed.
pub fn list_hash(alg: HashAlg, list: &[&[u8]]) -> Vec<u8> {
    let mut sorted = list.to_vec();
    sorted.sort_unstable();
    let mut h = alg.hasher();
    for v in sorted {
        h.update(v);
    }
    h.finish()
}

/// The root of a reduced hash tree (leaf list first). `None` for an empty tree.
pub fn reduce(alg: HashAlg, tree: &[Vec<&[u8]>]) -> Option<Vec<u8>> {
    let (first, upper) = tree.split_first()?;
    let mut value = list_hash(alg, first);
    for list in upper {
        let mut joined = list.clone();
        if !joined.contains(&value.as_slice()) {
            joined.push(&value);
        }
        value = list_hash(alg, &joined);
    }
    Some(value)
}

/// The leaf of a time-stamp renewal: H(previous `timeStamp` DER).
pub fn timestamp_leaf(alg: HashAlg, previous_token: &[u8]) -> Vec<u8> {
    alg.digest(previous_token)
}

/// H(atsc): the digest of the DER ArchiveTimeStampSequence of `previous_chains`.
pub fn sequence_digest(alg: HashAlg, previous_chains: &[&[u8]]) -> Vec<u8> {
    alg.digest(&encode_sequence(previous_chains))
}

/// A data object's leaf in chain `chain` (0-based): H(d) in the first chain, else
/// H(H(d) ‖ `sequence`) with `sequence` = [`sequence_digest`] of the chains before.
pub fn data_leaf(alg: HashAlg, data_digest: &[u8], sequence: Option<&[u8]>) -> Vec<u8> {
    match sequence {
        None => data_digest.to_vec(),
        Some(seq) => {
            let mut h = alg.hasher();
            h.update(data_digest);
            h.update(seq);
            h.finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(b: &[u8]) -> Vec<u8> {
        HashAlg::Sha256.digest(b)
    }

    #[test]
    fn lists_are_sorted_as_unsigned_bytes_before_hashing() {
        let (a, b) = ([0x01u8; 32], [0xffu8; 32]);
        let expected = sha(&[a, b].concat());
        assert_eq!(list_hash(HashAlg::Sha256, &[&b, &a]), expected);
        assert_eq!(list_hash(HashAlg::Sha256, &[&a, &b]), expected);
        // One value is hashed too.
        assert_eq!(list_hash(HashAlg::Sha256, &[&a]), sha(&a));
    }

    #[test]
    fn upper_lists_take_the_value_from_below() {
        let (h1, h2, h34) = ([1u8; 32], [2u8; 32], [9u8; 32]);
        let h12 = sha(&[h1, h2].concat());
        let mut top = [h12.clone(), h34.to_vec()];
        top.sort();
        let root = sha(&top.concat());
        let tree = vec![vec![&h1[..], &h2[..]], vec![&h34[..]]];
        assert_eq!(reduce(HashAlg::Sha256, &tree), Some(root.clone()));
        // Listing the computed value as well changes nothing.
        let tree = vec![vec![&h1[..], &h2[..]], vec![&h34[..], &h12[..]]];
        assert_eq!(reduce(HashAlg::Sha256, &tree), Some(root));
        assert_eq!(reduce(HashAlg::Sha256, &[]), None);
    }

    #[test]
    fn renewal_leaves_bind_data_and_previous_chains() {
        let d = sha(b"file");
        assert_eq!(data_leaf(HashAlg::Sha256, &d, None), d);
        let chain = [0x30u8, 0x00];
        let seq = sequence_digest(HashAlg::Sha256, &[&chain]);
        assert_eq!(seq, sha(&[0x30, 0x02, 0x30, 0x00]));
        assert_eq!(
            data_leaf(HashAlg::Sha256, &d, Some(&seq)),
            sha(&[d.clone(), seq.clone()].concat())
        );
    }
}
