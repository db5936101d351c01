//! Public keys of TSA and CA certificates and signature checks with them: EC P-256,
//! EC P-384, and RSA of 2048 to 8192 bits (rsaEncryption, or id-RSASSA-PSS for a key
//! restricted to PSS).
//!
//! Must never: accept a smaller RSA key or another curve, or panic on any input.

use der::Decode;
use der::asn1::ObjectIdentifier;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use spki::SubjectPublicKeyInfoOwned;

use super::TimestampError;
use super::algorithms::{ID_EC_PUBLIC_KEY, RSA_ENCRYPTION, RSASSA_PSS, SignatureScheme};

const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// RSA moduli accepted, in bits.
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

/// A certificate's public key.
#[derive(Clone, Debug)]
pub(crate) enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Rsa {
        key: rsa::RsaPublicKey,
        /// The SPKI says id-RSASSA-PSS: only PSS signatures are valid.
        pss_only: bool,
    },
}

impl PublicKey {
    /// Decodes a SubjectPublicKeyInfo; other key types, curves and short RSA keys are
    /// refused.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, TimestampError> {
        let bits = spki.subject_public_key.raw_bytes();
        let oid = spki.algorithm.oid;
        if oid == ID_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            let bad = TimestampError::Malformed {
                what: "certificate EC public key",
            };
            return match curve {
                Some(SECP256R1) => p256::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                    .map(Self::P256)
                    .map_err(|_| bad),
                Some(SECP384R1) => p384::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                    .map(Self::P384)
                    .map_err(|_| bad),
                _ => Err(TimestampError::UnsupportedAlgorithm {
                    what: "certificate EC curve (need P-256 or P-384)",
                    oid: curve.map_or_else(|| "none".into(), |c| c.to_string()),
                }),
            };
        }
        if oid != RSA_ENCRYPTION && oid != RSASSA_PSS {
            return Err(TimestampError::UnsupportedAlgorithm {
                what: "certificate public key (need EC or RSA)",
                oid: oid.to_string(),
            });
        }
        let bad = || TimestampError::Malformed {
            what: "certificate RSA public key",
        };
        let k = rsa::pkcs1::RsaPublicKey::from_der(bits).map_err(|_| bad())?;
        let n = rsa::BigUint::from_bytes_be(k.modulus.as_bytes());
        let e = rsa::BigUint::from_bytes_be(k.public_exponent.as_bytes());
        if n.bits() < RSA_MIN_BITS {
            return Err(TimestampError::WeakKey { bits: n.bits() });
        }
        let key = rsa::RsaPublicKey::new_with_max_size(n, e, RSA_MAX_BITS).map_err(|_| bad())?;
        Ok(Self::Rsa {
            key,
            pss_only: oid == RSASSA_PSS,
        })
    }

    /// True when `signature` is this key's signature over `data` by `scheme`. A scheme
    /// that does not fit the key (RSA for an EC key, ...) is an error, not `false`.
    pub fn verify(
        &self,
        scheme: SignatureScheme,
        data: &[u8],
        signature: &[u8],
    ) -> Result<bool, TimestampError> {
        let hashed = scheme.digest().digest(data);
        match (self, scheme) {
            (Self::P256(key), SignatureScheme::Ecdsa(_)) => {
                Ok(p256::ecdsa::Signature::from_der(signature)
                    .is_ok_and(|s| key.verify_prehash(&hashed, &s).is_ok()))
            }
            (Self::P384(key), SignatureScheme::Ecdsa(_)) => {
                Ok(p384::ecdsa::Signature::from_der(signature)
                    .is_ok_and(|s| key.verify_prehash(&hashed, &s).is_ok()))
            }
            (
                Self::Rsa {
                    key,
                    pss_only: false,
                },
                SignatureScheme::RsaPkcs1(d),
            ) => Ok(key.verify(pkcs1v15(d), &hashed, signature).is_ok()),
            (Self::Rsa { key, .. }, SignatureScheme::RsaPss { digest, salt_len }) => Ok(key
                .verify(pss(digest, salt_len), &hashed, signature)
                .is_ok()),
            _ => Err(TimestampError::KeyAlgorithmMismatch),
        }
    }
}

fn pkcs1v15(d: super::algorithms::DigestAlg) -> rsa::Pkcs1v15Sign {
    use super::algorithms::DigestAlg;
    match d {
        DigestAlg::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
        DigestAlg::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
        // SHA-1 never reaches here (algorithms.rs refuses it for signatures).
        DigestAlg::Sha256 | DigestAlg::Sha1 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
    }
}

fn pss(d: super::algorithms::DigestAlg, salt_len: usize) -> rsa::Pss {
    use super::algorithms::DigestAlg;
    match d {
        DigestAlg::Sha384 => rsa::Pss::new_with_salt::<sha2::Sha384>(salt_len),
        DigestAlg::Sha512 => rsa::Pss::new_with_salt::<sha2::Sha512>(salt_len),
        DigestAlg::Sha256 | DigestAlg::Sha1 => rsa::Pss::new_with_salt::<sha2::Sha256>(salt_len),
    }
}
