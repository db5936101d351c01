//! Checks a whole evidence record against the bundle's data objects (RFC 4998 §5.3
//! "Verification", in sworn's profile): every data object's leaf is in the first list
//! of its chain's first archive time-stamp, and that list holds nothing else; every
//! reduced hash tree reduces to its token's imprint; every later archive time-stamp of
//! a chain covers the previous token; every token verifies (through the caller's
//! function, which picks the TSA chain); each token's genTime is not before the
//! previous one's and not after the previous token's TSA certificate expired. One named
//! [`VerifyError`] per failure, or the [`ArchiveSummary`].
//!
//! Must never read files or the clock, and never accept a record after any failure.

use super::record::EvidenceRecord;
use super::{ArchiveRenewal, ArchiveSummary, RenewalKind, tree};
use crate::verify::bundle::TimestampFailure;
use crate::verify::error::VerifyError;
use crate::verify::hash_alg::HashAlg;

/// One data object: its path in the bundle and its digest under every algorithm the
/// record uses (the caller hashes the file bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataObject {
    /// Path relative to the bundle root.
    pub path: String,
    /// (algorithm, digest of the file bytes).
    pub digests: Vec<(HashAlg, Vec<u8>)>,
}

impl DataObject {
    fn digest(&self, alg: HashAlg) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, d)| d.as_slice())
    }
}

/// What a verified archive token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampTime {
    /// genTime, RFC 3339.
    pub gen_time: String,
    /// genTime, Unix seconds.
    pub gen_time_unix: i64,
    /// notAfter of the token's TSA certificate, RFC 3339.
    pub not_after: String,
    /// The same, Unix seconds.
    pub not_after_unix: i64,
}

/// The caller's verdict on one token: `verify(n, token DER, alg, root)` with `n` the
/// 1-based number of the archive time-stamp in the record.
pub type StampCheck = Result<StampTime, TimestampFailure>;

/// The caller's token check: `(n, token DER, algorithm, root) -> verdict`.
pub type VerifyStamp<'a> = dyn FnMut(usize, &[u8], HashAlg, &[u8]) -> StampCheck + 'a;

/// Checks `rec` over `objects` (every data object of the bundle, once each).
pub fn verify_record(
    rec: &EvidenceRecord<'_>,
    objects: &[DataObject],
    verify: &mut VerifyStamp<'_>,
) -> Result<ArchiveSummary, Vec<VerifyError>> {
    let mut errs = Vec::new();
    let chains_raw = rec.chains_raw();
    let mut n = 0usize;
    let mut previous: Option<StampTime> = None;
    let mut proven: Vec<(Option<RenewalKind>, HashAlg, StampTime)> = Vec::new();
    for (ci, chain) in rec.chains.iter().enumerate() {
        for (si, stamp) in chain.stamps.iter().enumerate() {
            n += 1;
            let alg = stamp.alg;
            let before = chains_raw.get(..ci).unwrap_or_default();
            let root = match si.checked_sub(1).and_then(|p| chain.stamps.get(p)) {
                Some(prev) => {
                    let leaf = tree::timestamp_leaf(alg, prev.time_stamp);
                    root_over_leaf(n, alg, stamp.tree.as_deref(), &leaf, &mut errs)
                }
                None => {
                    let seq = (ci > 0).then(|| tree::sequence_digest(alg, before));
                    root_over_data(n, alg, stamp.tree.as_deref(), objects, seq, &mut errs)
                }
            };
            let Some(root) = root else {
                previous = None;
                continue;
            };
            let kind = match (ci, si) {
                (0, 0) => None,
                (_, 0) => Some(RenewalKind::HashTree),
                _ => Some(RenewalKind::Timestamp),
            };
            match verify(n, stamp.time_stamp, alg, &root) {
                Ok(t) => {
                    if let Some(p) = &previous {
                        if t.gen_time_unix < p.gen_time_unix {
                            errs.push(VerifyError::ArchiveRenewalOutOfOrder {
                                stamp: n as u64,
                                gen_time: t.gen_time.clone(),
                                previous: p.gen_time.clone(),
                            });
                        } else if t.gen_time_unix > p.not_after_unix {
                            errs.push(VerifyError::ArchiveRenewalLate {
                                stamp: n as u64,
                                gen_time: t.gen_time.clone(),
                                expired: p.not_after.clone(),
                            });
                        }
                    }
                    previous = Some(t.clone());
                    proven.push((kind, alg, t));
                }
                Err(TimestampFailure::Mismatch) => {
                    errs.push(VerifyError::ArchiveHashTreeMismatch {
                        stamp: n as u64,
                        reason: "the token's imprint is not the root of the hash tree".into(),
                    });
                    previous = None;
                }
                Err(TimestampFailure::Invalid(reason)) => {
                    errs.push(VerifyError::ArchiveTimestampInvalid {
                        stamp: n as u64,
                        reason,
                    });
                    previous = None;
                }
            }
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let (Some((_, first_alg, first)), Some((_, _, last))) = (proven.first(), proven.last()) else {
        return Err(vec![VerifyError::ArchiveRecordMalformed {
            reason: "no archive time-stamp".into(),
        }]);
    };
    Ok(ArchiveSummary {
        protected_since: first.gen_time.clone(),
        algorithm: first_alg.name().into(),
        renewals: proven
            .iter()
            .filter_map(|(kind, alg, t)| {
                kind.map(|kind| ArchiveRenewal {
                    kind,
                    algorithm: alg.name().into(),
                    gen_time: t.gen_time.clone(),
                })
            })
            .collect(),
        renew_before: last.not_after.clone(),
    })
}

/// The root of the first archive time-stamp of a chain: its first list must hold the
/// leaf of every data object and nothing else.
fn root_over_data(
    n: usize,
    alg: HashAlg,
    tree: Option<&[Vec<&[u8]>]>,
    objects: &[DataObject],
    sequence: Option<Vec<u8>>,
    errs: &mut Vec<VerifyError>,
) -> Option<Vec<u8>> {
    let mut leaves = Vec::new();
    for o in objects {
        match o.digest(alg) {
            Some(d) => leaves.push((
                o.path.as_str(),
                tree::data_leaf(alg, d, sequence.as_deref()),
            )),
            None => errs.push(VerifyError::ArchiveDataNotCovered {
                path: o.path.clone(),
                stamp: n as u64,
            }),
        }
    }
    let Some(tree) = tree else {
        return match leaves.as_slice() {
            [(_, only)] => Some(only.clone()),
            _ => {
                errs.push(VerifyError::ArchiveHashTreeMismatch {
                    stamp: n as u64,
                    reason: format!("no reduced hash tree for {} data objects", leaves.len()),
                });
                None
            }
        };
    };
    let mut pool: Vec<&[u8]> = tree.first().cloned().unwrap_or_default();
    for (path, leaf) in &leaves {
        match pool.iter().position(|h| *h == leaf.as_slice()) {
            Some(i) => {
                pool.swap_remove(i);
            }
            None => errs.push(VerifyError::ArchiveDataNotCovered {
                path: (*path).to_string(),
                stamp: n as u64,
            }),
        }
    }
    if !pool.is_empty() {
        errs.push(VerifyError::ArchiveHashTreeMismatch {
            stamp: n as u64,
            reason: format!(
                "{} hash value(s) of the first list belong to no data object of the bundle",
                pool.len()
            ),
        });
    }
    tree::reduce(alg, tree)
}

/// The root of a time-stamp renewal: over the previous token's leaf, directly or
/// through a hash tree whose first list holds it.
fn root_over_leaf(
    n: usize,
    alg: HashAlg,
    tree: Option<&[Vec<&[u8]>]>,
    leaf: &[u8],
    errs: &mut Vec<VerifyError>,
) -> Option<Vec<u8>> {
    let Some(tree) = tree else {
        return Some(leaf.to_vec());
    };
    if !tree.first().is_some_and(|l| l.contains(&leaf)) {
        errs.push(VerifyError::ArchiveHashTreeMismatch {
            stamp: n as u64,
            reason: "the first list does not hold the previous time-stamp's hash".into(),
        });
    }
    tree::reduce(alg, tree)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::archive::record::{encode_chain, encode_record, encode_stamp, parse};

    const T1: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x01];
    const T2: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x02];

    fn sha(b: &[u8]) -> Vec<u8> {
        HashAlg::Sha256.digest(b)
    }

    fn object(path: &str, bytes: &[u8]) -> DataObject {
        DataObject {
            path: path.into(),
            digests: vec![(HashAlg::Sha256, sha(bytes))],
        }
    }

    /// A verifier whose token n is valid from `times[n-1]` (genTime, notAfter) when its
    /// root is `roots[n-1]`.
    fn fake<'a>(
        roots: &'a [Vec<u8>],
        times: &'a [(i64, i64)],
    ) -> impl FnMut(usize, &[u8], HashAlg, &[u8]) -> StampCheck + 'a {
        move |n, _, _, root| {
            if roots.get(n - 1).map(Vec::as_slice) != Some(root) {
                return Err(TimestampFailure::Mismatch);
            }
            let (g, a) = times[n - 1];
            Ok(StampTime {
                gen_time: g.to_string(),
                gen_time_unix: g,
                not_after: a.to_string(),
                not_after_unix: a,
            })
        }
    }

    fn codes(r: Result<ArchiveSummary, Vec<VerifyError>>) -> Vec<String> {
        r.err()
            .unwrap_or_default()
            .iter()
            .map(VerifyError::code)
            .collect()
    }

    #[test]
    fn a_lone_data_object_needs_no_tree_but_two_do() {
        let stamp = encode_stamp(HashAlg::Sha256, None, T1);
        let bytes = encode_record(&[HashAlg::Sha256], &[&encode_chain(&[&stamp])]);
        let rec = parse(&bytes).unwrap();
        let one = [object("a", b"a")];
        let roots = [sha(b"a")];
        let s = verify_record(&rec, &one, &mut fake(&roots, &[(10, 20)])).unwrap();
        assert_eq!(
            (s.protected_since.as_str(), s.renew_before.as_str()),
            ("10", "20")
        );
        let two = [object("a", b"a"), object("b", b"b")];
        let r = verify_record(&rec, &two, &mut fake(&roots, &[(10, 20)]));
        assert_eq!(codes(r), ["ArchiveHashTreeMismatch"]);
    }

    #[test]
    fn upper_lists_reduce_to_the_root_and_strays_are_named() {
        let (a, b, sibling) = (sha(b"a"), sha(b"b"), vec![7u8; 32]);
        let mut low = [a.clone(), b.clone()];
        low.sort();
        let mut top = [sha(&low.concat()), sibling.clone()];
        top.sort();
        let root = sha(&top.concat());
        let tree = [vec![a.clone(), b.clone()], vec![sibling.clone()]];
        let stamp = encode_stamp(HashAlg::Sha256, Some(&tree), T1);
        let bytes = encode_record(&[HashAlg::Sha256], &[&encode_chain(&[&stamp])]);
        let rec = parse(&bytes).unwrap();
        let objects = [object("a", b"a"), object("b", b"b")];
        let roots = [root];
        assert!(verify_record(&rec, &objects, &mut fake(&roots, &[(1, 2)])).is_ok());
        // A data object the list lacks, and a hash of none.
        let objects = [object("a", b"a"), object("c", b"c")];
        let r = verify_record(&rec, &objects, &mut fake(&roots, &[(1, 2)]));
        assert_eq!(
            codes(r),
            ["ArchiveDataNotCovered", "ArchiveHashTreeMismatch"]
        );
    }

    #[test]
    fn renewals_must_cover_the_previous_token_in_time() {
        let first = encode_stamp(HashAlg::Sha256, None, T1);
        let renewal = encode_stamp(HashAlg::Sha256, None, T2);
        let bytes = encode_record(&[HashAlg::Sha256], &[&encode_chain(&[&first, &renewal])]);
        let rec = parse(&bytes).unwrap();
        let objects = [object("a", b"a")];
        let roots = [sha(b"a"), sha(T1)];
        let ok = verify_record(&rec, &objects, &mut fake(&roots, &[(10, 100), (100, 200)]));
        let s = ok.unwrap();
        assert_eq!(s.renewals.len(), 1);
        assert_eq!(s.renewals[0].kind, RenewalKind::Timestamp);
        let late = verify_record(&rec, &objects, &mut fake(&roots, &[(10, 100), (101, 200)]));
        assert_eq!(codes(late), ["ArchiveRenewalLate"]);
        let back = verify_record(&rec, &objects, &mut fake(&roots, &[(10, 100), (9, 200)]));
        assert_eq!(codes(back), ["ArchiveRenewalOutOfOrder"]);
        // A renewal over anything but the previous token does not reduce to its root.
        let wrong = [sha(b"a"), sha(T2)];
        let r = verify_record(&rec, &objects, &mut fake(&wrong, &[(10, 100), (50, 200)]));
        assert_eq!(codes(r), ["ArchiveHashTreeMismatch"]);
    }
}
