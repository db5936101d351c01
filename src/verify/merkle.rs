//! RFC 6962 / RFC 9162 Merkle tree hashing: leaf and node hashes, tree roots (batch and
//! incremental), and inclusion and consistency proofs (generation and verification).
//!
//! Pure functions over hashes. It must never panic on a proof or size a peer supplies.

use sha2::{Digest, Sha256};

/// A SHA-256 output.
pub type Hash = [u8; 32];

/// Why a proof or a tree request was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    /// Leaf index not below the tree size.
    #[error("index {index} is not inside a tree of size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// Sizes that cannot be compared (old size 0 or old > new).
    #[error("cannot prove consistency from size {old} to size {new}")]
    InvalidSizes {
        /// Old tree size.
        old: u64,
        /// New tree size.
        new: u64,
    },
    /// The proof has too few or too many hashes.
    #[error("proof has the wrong number of hashes")]
    WrongProofLength,
    /// The recomputed root is not the expected one.
    #[error("root mismatch: expected {expected}, calculated {calculated}")]
    RootMismatch {
        /// Expected root (hex).
        expected: String,
        /// Calculated root (hex).
        calculated: String,
    },
}

/// SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// SHA-256 of nothing: the root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Largest power of two strictly below `n` (n >= 2).
fn split(n: usize) -> usize {
    let mut k = 1usize;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// Root (MTH) of the tree whose leaf hashes are `leaves`.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [one] => *one,
        _ => {
            let k = split(leaves.len());
            let (l, r) = leaves.split_at(k);
            node_hash(&root(l), &root(r))
        }
    }
}

/// Inclusion proof (RFC 6962 PATH) of leaf `index` in the tree of `leaves`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, MerkleError> {
    let size = leaves.len() as u64;
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(leaves, index as usize, &mut out);
    Ok(out)
}

fn path(leaves: &[Hash], m: usize, out: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len());
    let (l, r) = leaves.split_at(k);
    if m < k {
        path(l, m, out);
        out.push(root(r));
    } else {
        path(r, m - k, out);
        out.push(root(l));
    }
}

/// Consistency proof (RFC 6962 PROOF) from the first `old_size` leaves to all `leaves`.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, MerkleError> {
    let new = leaves.len() as u64;
    if old_size == 0 || old_size > new {
        return Err(MerkleError::InvalidSizes { old: old_size, new });
    }
    let mut out = Vec::new();
    subproof(old_size as usize, leaves, true, &mut out);
    Ok(out)
}

fn subproof(m: usize, leaves: &[Hash], complete: bool, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !complete {
            out.push(root(leaves));
        }
        return;
    }
    let k = split(n);
    let (l, r) = leaves.split_at(k);
    if m <= k {
        subproof(m, l, complete, out);
        out.push(root(r));
    } else {
        subproof(m - k, r, false, out);
        out.push(root(l));
    }
}

fn mismatch(expected: &Hash, calculated: &Hash) -> MerkleError {
    MerkleError::RootMismatch {
        expected: hex::encode(expected),
        calculated: hex::encode(calculated),
    }
}

/// Verifies an inclusion proof (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    expected_root: &Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let mut f = index;
    let mut s = size - 1;
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(MerkleError::WrongProofLength);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(MerkleError::WrongProofLength);
    }
    if &r != expected_root {
        return Err(mismatch(expected_root, &r));
    }
    Ok(())
}

/// Verifies a consistency proof (RFC 9162 section 2.1.4.2). Sizes must satisfy
/// `0 < old <= new`; equal sizes need an empty proof and equal roots.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if old_size == 0 || old_size > new_size {
        return Err(MerkleError::InvalidSizes {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(MerkleError::WrongProofLength);
        }
        if old_root != new_root {
            return Err(mismatch(new_root, old_root));
        }
        return Ok(());
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(MerkleError::WrongProofLength);
    };
    let mut f = old_size - 1;
    let mut s = new_size - 1;
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut fr = *first;
    let mut sr = *first;
    for c in rest {
        if s == 0 {
            return Err(MerkleError::WrongProofLength);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(MerkleError::WrongProofLength);
    }
    if &fr != old_root {
        return Err(mismatch(old_root, &fr));
    }
    if &sr != new_root {
        return Err(mismatch(new_root, &sr));
    }
    Ok(())
}

/// Incremental tree: keeps only the perfect subtrees on the right edge, so appending and
/// asking for the current root are O(log n).
#[derive(Debug, Clone, Default)]
pub struct CompactRange {
    size: u64,
    // (height, hash), heights strictly decreasing from first to last.
    stack: Vec<(u32, Hash)>,
}

impl CompactRange {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut cur = (0u32, leaf);
        while let Some(&(h, top)) = self.stack.last() {
            if h != cur.0 {
                break;
            }
            self.stack.pop();
            cur = (h + 1, node_hash(&top, &cur.1));
        }
        self.stack.push(cur);
        self.size += 1;
    }

    /// Root of the leaves appended so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, mut r)) = iter.next() else {
            return empty_root();
        };
        for (_, left) in iter {
            r = node_hash(left, &r);
        }
        r
    }
}
