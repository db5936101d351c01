//! The digest and signature algorithms a time-stamp token and its certificates may use,
//! named by OID (docs/bundle-format.md §4 lists them): SHA-256/384/512 digests, RSA
//! PKCS#1 v1.5 and RSASSA-PSS, ECDSA on P-256/P-384. SHA-1 is known only for the ESS
//! signingCertificate (v1) hash, never for a signature.
//!
//! Must never: accept an algorithm it does not list (fail closed: each unknown OID or
//! parameter is a typed [`TimestampError`]), or panic on any input.

use der::Decode;
use der::asn1::ObjectIdentifier;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::TimestampError;

/// id-sha256, id-sha384, id-sha512 (NIST), id-sha1.
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// rsaEncryption: the key algorithm, also written as a signature algorithm by TSAs that
/// take the digest from the SignerInfo.
pub(crate) const RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
pub(crate) const RSASSA_PSS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
/// id-ecPublicKey: the key algorithm, written as a signature algorithm by some TSAs.
pub(crate) const ID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_WITH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");

/// A digest algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DigestAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlg {
    /// SHA-256/384/512 by OID (content octets); anything else is refused as `what`.
    pub fn sha2_from_oid_bytes(oid: &[u8], what: &'static str) -> Result<Self, TimestampError> {
        let parsed = ObjectIdentifier::from_bytes(oid).ok();
        match parsed.and_then(Self::from_oid) {
            Some(d) if d != Self::Sha1 => Ok(d),
            _ => Err(unsupported_bytes(what, oid)),
        }
    }

    fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        match oid {
            SHA256 => Some(Self::Sha256),
            SHA384 => Some(Self::Sha384),
            SHA512 => Some(Self::Sha512),
            SHA1 => Some(Self::Sha1),
            _ => None,
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// How a signature is made. The digest is never SHA-1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignatureScheme {
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1(DigestAlg),
    /// RSASSA-PSS with MGF1 over the same digest, trailer field 1.
    RsaPss { digest: DigestAlg, salt_len: usize },
    /// ECDSA (the curve is the key's).
    Ecdsa(DigestAlg),
}

impl SignatureScheme {
    /// The digest the signature is computed over.
    pub fn digest(self) -> DigestAlg {
        match self {
            Self::RsaPkcs1(d) | Self::Ecdsa(d) | Self::RsaPss { digest: d, .. } => d,
        }
    }
}

/// The scheme named by a signature AlgorithmIdentifier (`oid`, DER of its parameters).
/// `key_only_digest` is the digest to use when the OID names only the key algorithm
/// (rsaEncryption, id-ecPublicKey), as a SignerInfo may; `None` refuses such OIDs (a
/// certificate signature must name its digest).
pub(crate) fn signature_scheme(
    oid: ObjectIdentifier,
    params: Option<&[u8]>,
    key_only_digest: Option<DigestAlg>,
    what: &'static str,
) -> Result<SignatureScheme, TimestampError> {
    let scheme = match oid {
        SHA256_WITH_RSA => SignatureScheme::RsaPkcs1(DigestAlg::Sha256),
        SHA384_WITH_RSA => SignatureScheme::RsaPkcs1(DigestAlg::Sha384),
        SHA512_WITH_RSA => SignatureScheme::RsaPkcs1(DigestAlg::Sha512),
        ECDSA_WITH_SHA256 => SignatureScheme::Ecdsa(DigestAlg::Sha256),
        ECDSA_WITH_SHA384 => SignatureScheme::Ecdsa(DigestAlg::Sha384),
        ECDSA_WITH_SHA512 => SignatureScheme::Ecdsa(DigestAlg::Sha512),
        RSA_ENCRYPTION => match key_only_digest {
            Some(d) => SignatureScheme::RsaPkcs1(d),
            None => return Err(unsupported(what, oid)),
        },
        ID_EC_PUBLIC_KEY => match key_only_digest {
            Some(d) => SignatureScheme::Ecdsa(d),
            None => return Err(unsupported(what, oid)),
        },
        RSASSA_PSS => pss_scheme(params, what)?,
        _ => return Err(unsupported(what, oid)),
    };
    if scheme.digest() == DigestAlg::Sha1 {
        return Err(unsupported(what, oid));
    }
    // PKCS#1 v1.5 and ECDSA take absent or NULL parameters (RFC 4055 §5, RFC 5758 §3.2).
    let null_or_absent = matches!(params, None | Some([0x05, 0x00]));
    if !matches!(scheme, SignatureScheme::RsaPss { .. }) && !null_or_absent {
        return Err(TimestampError::UnsupportedAlgorithm {
            what,
            oid: format!("{oid} with parameters"),
        });
    }
    Ok(scheme)
}

/// RSASSA-PSS-params (RFC 4055 §3.1): hash SHA-256/384/512, MGF1 with the same hash,
/// any salt length, trailer field 1. The SHA-1 defaults are refused.
fn pss_scheme(
    params: Option<&[u8]>,
    what: &'static str,
) -> Result<SignatureScheme, TimestampError> {
    let bad = |detail: &str| TimestampError::UnsupportedAlgorithm {
        what,
        oid: format!("{RSASSA_PSS} {detail}"),
    };
    let params = params.ok_or_else(|| bad("without parameters"))?;
    let p = rsa::pkcs1::RsaPssParams::from_der(params).map_err(|_| TimestampError::Malformed {
        what: "RSASSA-PSS parameters",
    })?;
    let digest = DigestAlg::from_oid(p.hash.oid)
        .filter(|d| *d != DigestAlg::Sha1)
        .ok_or_else(|| bad("hash (need SHA-256/384/512)"))?;
    let mgf_hash = p.mask_gen.parameters.as_ref().map(|h| h.oid);
    if p.mask_gen.oid != MGF1 || mgf_hash != Some(p.hash.oid) {
        return Err(bad("mask generation (need MGF1 with the signature's hash)"));
    }
    if p.trailer_field != rsa::pkcs1::TrailerField::BC {
        return Err(bad("trailer field"));
    }
    Ok(SignatureScheme::RsaPss {
        digest,
        salt_len: usize::from(p.salt_len),
    })
}

fn unsupported(what: &'static str, oid: ObjectIdentifier) -> TimestampError {
    TimestampError::UnsupportedAlgorithm {
        what,
        oid: oid.to_string(),
    }
}

fn unsupported_bytes(what: &'static str, oid: &[u8]) -> TimestampError {
    TimestampError::UnsupportedAlgorithm {
        what,
        oid: super::der_walk::oid_to_string(oid).unwrap_or_else(|_| hex::encode(oid)),
    }
}

/// ESS certificate hash algorithms: SHA-256/384/512 for signingCertificateV2.
pub(crate) fn ess_v2_digest(oid: &[u8]) -> Result<DigestAlg, TimestampError> {
    DigestAlg::sha2_from_oid_bytes(oid, "signingCertificateV2 hash")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_signatures_and_unknown_oids_are_refused() {
        let sha1_rsa = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
        assert!(signature_scheme(sha1_rsa, None, None, "t").is_err());
        assert!(signature_scheme(RSA_ENCRYPTION, None, Some(DigestAlg::Sha1), "t").is_err());
        assert!(signature_scheme(RSA_ENCRYPTION, None, None, "t").is_err());
        assert_eq!(
            signature_scheme(RSA_ENCRYPTION, Some(&[5, 0]), Some(DigestAlg::Sha384), "t"),
            Ok(SignatureScheme::RsaPkcs1(DigestAlg::Sha384))
        );
        assert!(signature_scheme(SHA256_WITH_RSA, Some(&[2, 1, 0]), None, "t").is_err());
        // RSASSA-PSS with all defaults (SHA-1) and without parameters.
        assert!(signature_scheme(RSASSA_PSS, Some(&[0x30, 0]), None, "t").is_err());
        assert!(signature_scheme(RSASSA_PSS, None, None, "t").is_err());
    }
}
