//! The DER of an RFC 4998 EvidenceRecord (module `DEFINITIONS IMPLICIT TAGS`):
//!
//! ```text
//! EvidenceRecord ::= SEQUENCE { version INTEGER (1), digestAlgorithms SEQUENCE OF
//!   AlgorithmIdentifier, cryptoInfos [0] OPTIONAL, encryptionInfo [1] OPTIONAL,
//!   archiveTimeStampSequence SEQUENCE OF ArchiveTimeStampChain }
//! ArchiveTimeStampChain ::= SEQUENCE OF ArchiveTimeStamp
//! ArchiveTimeStamp ::= SEQUENCE { digestAlgorithm [0] AlgorithmIdentifier OPTIONAL,
//!   attributes [1] OPTIONAL, reducedHashtree [2] SEQUENCE OF PartialHashtree OPTIONAL,
//!   timeStamp ContentInfo }
//! PartialHashtree ::= SEQUENCE OF OCTET STRING
//! ```
//!
//! The parser keeps the stored bytes of every chain, archive time-stamp and token (the
//! renewal hashes are over them; nothing is re-serialised). sworn's profile, stricter
//! than the RFC and so checked here: `digestAlgorithm` present in every archive
//! time-stamp (SHA-256/384/512, parameters absent or NULL), no `cryptoInfos`,
//! `encryptionInfo` or `attributes`, no empty list, every hash as long as its
//! algorithm's output, `digestAlgorithms` = the chains' algorithms in order of first use.
//! The encoder writes exactly that profile. Must never panic on any input.

use crate::verify::error::VerifyError;
use crate::verify::hash_alg::HashAlg;
use crate::verify::timestamp::der_walk::{self, INTEGER, OCTET_STRING, OID, Reader, SEQUENCE};

const CTX0: u8 = 0xa0;
const CTX1: u8 = 0xa1;
const CTX2: u8 = 0xa2;
const NULL: u8 = 0x05;

/// A parsed evidence record, borrowing the stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRecord<'a> {
    /// `digestAlgorithms`, as stored.
    pub digest_algorithms: Vec<HashAlg>,
    /// `archiveTimeStampSequence`, oldest chain first.
    pub chains: Vec<AtsChain<'a>>,
}

/// One ArchiveTimeStampChain: archive time-stamps of one hash algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtsChain<'a> {
    /// The chain's stored DER (tag and length included).
    pub raw: &'a [u8],
    /// Its archive time-stamps, oldest first (never empty).
    pub stamps: Vec<ArchiveTimeStamp<'a>>,
}

/// One ArchiveTimeStamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveTimeStamp<'a> {
    /// The stored DER of the whole archive time-stamp.
    pub raw: &'a [u8],
    /// `digestAlgorithm`.
    pub alg: HashAlg,
    /// `reducedHashtree`, leaf list first; `None` when absent.
    pub tree: Option<Vec<Vec<&'a [u8]>>>,
    /// `timeStamp`: the stored DER of the RFC 3161 token (a ContentInfo).
    pub time_stamp: &'a [u8],
}

impl EvidenceRecord<'_> {
    /// The number of archive time-stamps in all chains.
    pub fn stamp_count(&self) -> usize {
        self.chains.iter().map(|c| c.stamps.len()).sum()
    }

    /// The stored DER of every chain, oldest first.
    pub fn chains_raw(&self) -> Vec<&[u8]> {
        self.chains.iter().map(|c| c.raw).collect()
    }
}

fn malformed(reason: impl Into<String>) -> VerifyError {
    VerifyError::ArchiveRecordMalformed {
        reason: reason.into(),
    }
}

/// A DER error of the walker, named by the element it was reading (`DER: <what>`).
fn der<T>(r: Result<T, crate::verify::timestamp::TimestampError>) -> Result<T, VerifyError> {
    use crate::verify::timestamp::TimestampError;
    r.map_err(|e| match e {
        TimestampError::Malformed { what } => malformed(format!("DER: {what}")),
        other => malformed(other.to_string()),
    })
}

/// Parses a DER EvidenceRecord in sworn's profile (module doc).
pub fn parse(bytes: &[u8]) -> Result<EvidenceRecord<'_>, VerifyError> {
    let top = der(der_walk::single(bytes, SEQUENCE, "EvidenceRecord"))?;
    let mut r = top.children();
    let version = der(r.next(INTEGER, "EvidenceRecord version"))?;
    if version.value != [1] {
        return Err(malformed("version is not 1"));
    }
    let algs_seq = der(r.next(SEQUENCE, "digestAlgorithms"))?;
    let mut digest_algorithms = Vec::new();
    let mut ar = algs_seq.children();
    while !ar.is_empty() {
        digest_algorithms.push(algorithm_identifier(
            der(ar.next(SEQUENCE, "digestAlgorithms"))?.children(),
        )?);
    }
    if matches!(r.peek_tag(), Some(CTX0 | CTX1)) {
        return Err(malformed(
            "cryptoInfos and encryptionInfo are not supported (sworn-bundle/1)",
        ));
    }
    let seq = der(r.next(SEQUENCE, "archiveTimeStampSequence"))?;
    der(r.finish("EvidenceRecord trailing fields"))?;
    let mut chains = Vec::new();
    let mut cr = seq.children();
    while !cr.is_empty() {
        let chain = der(cr.next(SEQUENCE, "ArchiveTimeStampChain"))?;
        let mut stamps = Vec::new();
        let mut sr = chain.children();
        while !sr.is_empty() {
            stamps.push(archive_time_stamp(der(
                sr.next(SEQUENCE, "ArchiveTimeStamp")
            )?)?);
        }
        if stamps.is_empty() {
            return Err(malformed("an empty ArchiveTimeStampChain"));
        }
        if stamps.iter().any(|s| s.alg != stamps[0].alg) {
            return Err(malformed(
                "archive time-stamps of one chain use different hash algorithms",
            ));
        }
        chains.push(AtsChain {
            raw: chain.raw,
            stamps,
        });
    }
    if chains.is_empty() {
        return Err(malformed("no archive time-stamp"));
    }
    let mut used = Vec::new();
    for c in &chains {
        if !used.contains(&c.stamps[0].alg) {
            used.push(c.stamps[0].alg);
        }
    }
    if used != digest_algorithms {
        return Err(malformed(
            "digestAlgorithms is not the chains' algorithms in order of first use",
        ));
    }
    Ok(EvidenceRecord {
        digest_algorithms,
        chains,
    })
}

/// The content of an AlgorithmIdentifier: a SHA-2 OID, parameters absent or NULL.
fn algorithm_identifier(mut r: Reader<'_>) -> Result<HashAlg, VerifyError> {
    let oid = der(r.next(OID, "digest algorithm"))?;
    if let Some(params) = der(r.next_if(NULL, "digest algorithm parameters"))? {
        if !params.value.is_empty() {
            return Err(malformed("digest algorithm parameters"));
        }
    }
    der(r.finish("digest algorithm parameters"))?;
    HashAlg::from_oid_der(oid.value).ok_or_else(|| VerifyError::ArchiveAlgorithmUnsupported {
        oid: der_walk::oid_to_string(oid.value).unwrap_or_else(|_| hex::encode(oid.value)),
    })
}

fn archive_time_stamp(tlv: der_walk::Tlv<'_>) -> Result<ArchiveTimeStamp<'_>, VerifyError> {
    let mut r = tlv.children();
    let alg = match der(r.next_if(CTX0, "digestAlgorithm"))? {
        Some(a) => algorithm_identifier(a.children())?,
        None => {
            return Err(malformed(
                "an archive time-stamp without digestAlgorithm (sworn-bundle/1 requires it)",
            ));
        }
    };
    if r.peek_tag() == Some(CTX1) {
        return Err(malformed("archive time-stamp attributes are not supported"));
    }
    let tree = match der(r.next_if(CTX2, "reducedHashtree"))? {
        None => None,
        Some(t) => {
            let mut lists = Vec::new();
            let mut lr = t.children();
            while !lr.is_empty() {
                let list = der(lr.next(SEQUENCE, "PartialHashtree"))?;
                let mut hashes = Vec::new();
                let mut hr = list.children();
                while !hr.is_empty() {
                    let h = der(hr.next(OCTET_STRING, "PartialHashtree hash"))?.value;
                    if h.len() != alg.output_len() {
                        return Err(malformed(format!(
                            "a hash of {} bytes in a {} hash tree",
                            h.len(),
                            alg.name()
                        )));
                    }
                    hashes.push(h);
                }
                if hashes.is_empty() {
                    return Err(malformed("an empty PartialHashtree"));
                }
                lists.push(hashes);
            }
            if lists.is_empty() {
                return Err(malformed("an empty reducedHashtree"));
            }
            Some(lists)
        }
    };
    let time_stamp = der(r.next(SEQUENCE, "timeStamp"))?.raw;
    der(r.finish("ArchiveTimeStamp trailing fields"))?;
    Ok(ArchiveTimeStamp {
        raw: tlv.raw,
        alg,
        tree,
        time_stamp,
    })
}

/// DER of one element.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

fn alg_id_content(alg: HashAlg) -> Vec<u8> {
    tlv(OID, &alg.oid_der())
}

/// DER of an ArchiveTimeStamp: `digestAlgorithm` = `alg`, the reduced hash tree `tree`
/// (leaf list first) if any, and the token's DER as stored.
pub fn encode_stamp(alg: HashAlg, tree: Option<&[Vec<Vec<u8>>]>, token: &[u8]) -> Vec<u8> {
    let mut content = tlv(CTX0, &alg_id_content(alg));
    if let Some(lists) = tree {
        let mut inner = Vec::new();
        for list in lists {
            let hashes: Vec<u8> = list.iter().flat_map(|h| tlv(OCTET_STRING, h)).collect();
            inner.extend(tlv(SEQUENCE, &hashes));
        }
        content.extend(tlv(CTX2, &inner));
    }
    content.extend_from_slice(token);
    tlv(SEQUENCE, &content)
}

/// DER of an ArchiveTimeStampChain of stored archive time-stamps.
pub fn encode_chain(stamps: &[&[u8]]) -> Vec<u8> {
    tlv(SEQUENCE, &stamps.concat())
}

/// DER of an ArchiveTimeStampSequence of stored chains: what a hash-tree renewal hashes
/// (RFC 4998 §5.3 step 3, `atsc`).
pub fn encode_sequence(chains: &[&[u8]]) -> Vec<u8> {
    tlv(SEQUENCE, &chains.concat())
}

/// DER of an EvidenceRecord of stored chains; `digestAlgorithms` is derived from them
/// by the caller (`algs`, in order of first use).
pub fn encode_record(algs: &[HashAlg], chains: &[&[u8]]) -> Vec<u8> {
    let algs: Vec<u8> = algs
        .iter()
        .flat_map(|a| tlv(SEQUENCE, &alg_id_content(*a)))
        .collect();
    let mut content = tlv(INTEGER, &[1]);
    content.extend(tlv(SEQUENCE, &algs));
    content.extend(encode_sequence(chains));
    tlv(SEQUENCE, &content)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token stand-in: any SEQUENCE parses as a ContentInfo here.
    const TOKEN: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x07];

    #[test]
    fn encodes_and_parses_back_keeping_the_stored_bytes() {
        let leaves = vec![vec![vec![1u8; 32], vec![2u8; 32]]];
        let s1 = encode_stamp(HashAlg::Sha256, Some(&leaves), TOKEN);
        let s2 = encode_stamp(HashAlg::Sha256, None, TOKEN);
        let c1 = encode_chain(&[&s1, &s2]);
        let s3 = encode_stamp(HashAlg::Sha512, Some(&[vec![vec![3u8; 64]]]), TOKEN);
        let c2 = encode_chain(&[&s3]);
        let bytes = encode_record(&[HashAlg::Sha256, HashAlg::Sha512], &[&c1, &c2]);
        let rec = parse(&bytes).unwrap();
        assert_eq!(rec.stamp_count(), 3);
        assert_eq!(rec.chains_raw(), vec![&c1[..], &c2[..]]);
        assert_eq!(rec.chains[0].stamps[0].raw, &s1[..]);
        assert_eq!(rec.chains[0].stamps[1].tree, None);
        assert_eq!(rec.chains[1].stamps[0].alg, HashAlg::Sha512);
        assert_eq!(rec.chains[0].stamps[0].time_stamp, TOKEN);
        let tree = rec.chains[0].stamps[0].tree.clone().unwrap();
        assert_eq!(tree, vec![vec![&[1u8; 32][..], &[2u8; 32][..]]]);
    }

    #[test]
    fn long_lengths_are_minimal_der() {
        let content = vec![0u8; 300];
        let t = tlv(SEQUENCE, &content);
        assert_eq!(&t[..4], &[0x30, 0x82, 0x01, 0x2c]);
        assert_eq!(tlv(SEQUENCE, &[0u8; 0x80])[..3], [0x30, 0x81, 0x80]);
    }

    #[test]
    fn the_profile_is_enforced() {
        let s = encode_stamp(HashAlg::Sha256, None, TOKEN);
        let c = encode_chain(&[&s]);
        // digestAlgorithms must name the chains' algorithms.
        let wrong = encode_record(&[HashAlg::Sha512], &[&c]);
        assert!(matches!(
            parse(&wrong),
            Err(VerifyError::ArchiveRecordMalformed { .. })
        ));
        // No chain at all; an empty chain.
        assert!(parse(&encode_record(&[], &[])).is_err());
        assert!(parse(&encode_record(&[HashAlg::Sha256], &[&encode_chain(&[])])).is_err());
        // A hash of the wrong length.
        let short = encode_stamp(HashAlg::Sha256, Some(&[vec![vec![1u8; 31]]]), TOKEN);
        let rec = encode_record(&[HashAlg::Sha256], &[&encode_chain(&[&short])]);
        assert!(parse(&rec).is_err());
        // SHA-1 (1.3.14.3.2.26) is an unsupported algorithm, by name.
        let good = encode_record(&[HashAlg::Sha256], &[&c]);
        let mut sha1 = good.clone();
        let oid = HashAlg::Sha256.oid_der();
        let at = sha1.windows(oid.len()).position(|w| w == oid).unwrap();
        sha1.splice(at..at + 9, [0x2b, 0x0e, 0x03, 0x02, 0x1a]);
        // Lengths no longer fit: any error is fine, but never a panic; and a
        // same-length unknown OID is named.
        assert!(parse(&sha1).is_err());
        let mut other = good.clone();
        other[at + 8] = 0x09;
        assert!(matches!(
            parse(&other),
            Err(VerifyError::ArchiveAlgorithmUnsupported { .. })
        ));
        // Trailing garbage and truncation.
        let mut long = good.clone();
        long.push(0);
        assert!(parse(&long).is_err());
        for n in 0..good.len() {
            assert!(parse(&good[..n]).is_err());
        }
    }
}
