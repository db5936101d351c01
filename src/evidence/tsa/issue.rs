//! Issuing a TimeStampToken with the built-in TSA: TSTInfo over SHA-256 of the message
//! (or over a SHA-256/384/512 digest the caller made: an evidence record's root hash),
//! genTime in whole seconds, random serial, wrapped in CMS SignedData with the
//! contentType, messageDigest and ESS signingCertificateV2 signed attributes, signed
//! with ECDSA P-256/SHA-256, certificates included. It never reads the clock itself.

use std::time::{SystemTime, UNIX_EPOCH};

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, GeneralizedTime, ObjectIdentifier, OctetString, SetOfVec, Uint};
use der::{Encode, Sequence, Tag};
use p256::ecdsa::DerSignature;
use p256::ecdsa::signature::Signer;
use sha2::{Digest, Sha256};
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_tsp::MessageImprint;

use super::identity::{TsaIdentity, positive_serial, random_serial_bytes};
use super::{BUILTIN_POLICY_OID, TsaError};
use crate::verify::hash_alg::HashAlg;

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_CERT_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
pub(super) const ID_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// TSTInfo as issued here. The policy is an `Any` holding an OBJECT IDENTIFIER because
/// a UUID arc does not fit the 32-bit arcs of `const-oid`.
#[derive(Sequence)]
struct TstInfoOut {
    version: u8,
    policy: Any,
    message_imprint: MessageImprint,
    serial_number: Uint,
    gen_time: GeneralizedTime,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<GeneralName>,
}

/// ESSCertIDv2 with the hash algorithm left at its DEFAULT (SHA-256).
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

#[derive(Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// SHA-256 AlgorithmIdentifier with absent parameters (RFC 5754).
pub(super) fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        parameters: None,
    }
}

/// The AlgorithmIdentifier of `alg`, parameters absent (RFC 5754).
pub(super) fn hash_alg_id(alg: HashAlg) -> Result<AlgorithmIdentifierOwned, TsaError> {
    Ok(AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::from_bytes(&alg.oid_der()).map_err(|_| TsaError::Encode {
            what: "hash OID",
            source: Tag::ObjectIdentifier.value_error(),
        })?,
        parameters: None,
    })
}

/// DER content octets of a dotted OID with arbitrarily large arcs (up to 128 bits).
fn encode_oid(dotted: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u128> = dotted
        .split('.')
        .map(|a| a.parse().ok())
        .collect::<Option<_>>()?;
    let (first, second, rest) = match arcs.as_slice() {
        [a, b, rest @ ..] if *a <= 2 => (*a, *b, rest),
        _ => return None,
    };
    let mut out = Vec::new();
    for arc in
        std::iter::once(first.checked_mul(40)?.checked_add(second)?).chain(rest.iter().copied())
    {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut v = arc >> 7;
        while v > 0 {
            groups.push(((v & 0x7f) as u8) | 0x80);
            v >>= 7;
        }
        out.extend(groups.iter().rev());
    }
    Some(out)
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, TsaError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(TsaError::encode("attribute"))?,
    })
}

impl TsaIdentity {
    /// Issues a DER TimeStampToken over SHA-256(`message`) with genTime `now`
    /// (truncated to whole seconds).
    pub fn stamp(&self, message: &[u8], now: SystemTime) -> Result<Vec<u8>, TsaError> {
        self.stamp_digest(HashAlg::Sha256, &Sha256::digest(message), now)
    }

    /// [`TsaIdentity::stamp`] with a given token serial (made positive): for
    /// reproducible test vectors only; a TSA's serials must be unique.
    pub fn stamp_with_serial(
        &self,
        message: &[u8],
        now: SystemTime,
        serial: [u8; 16],
    ) -> Result<Vec<u8>, TsaError> {
        self.stamp_digest_with_serial(HashAlg::Sha256, &Sha256::digest(message), now, serial)
    }

    /// Issues a DER TimeStampToken whose message imprint is `digest` under `alg` (the
    /// caller hashed the data), with genTime `now` (truncated to whole seconds).
    pub fn stamp_digest(
        &self,
        alg: HashAlg,
        digest: &[u8],
        now: SystemTime,
    ) -> Result<Vec<u8>, TsaError> {
        self.stamp_digest_with_serial(alg, digest, now, random_serial_bytes())
    }

    /// [`TsaIdentity::stamp_digest`] with a given token serial: for reproducible test
    /// vectors only.
    pub fn stamp_digest_with_serial(
        &self,
        alg: HashAlg,
        digest: &[u8],
        now: SystemTime,
        serial: [u8; 16],
    ) -> Result<Vec<u8>, TsaError> {
        if digest.len() != alg.output_len() {
            return Err(TsaError::BadDigest);
        }
        let since_epoch = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| TsaError::BadTime)?;
        let gen_time = GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(
            since_epoch.as_secs(),
        ))
        .map_err(|_| TsaError::BadTime)?;
        let policy_bytes = encode_oid(BUILTIN_POLICY_OID).ok_or(TsaError::Encode {
            what: "policy OID",
            source: der::Tag::ObjectIdentifier.value_error(),
        })?;
        let enc = TsaError::encode;

        let tst = TstInfoOut {
            version: 1,
            policy: Any::new(Tag::ObjectIdentifier, policy_bytes).map_err(enc("policy"))?,
            message_imprint: MessageImprint {
                hash_algorithm: hash_alg_id(alg)?,
                hashed_message: OctetString::new(digest.to_vec()).map_err(enc("imprint"))?,
            },
            serial_number: Uint::new(&positive_serial(serial)).map_err(enc("serial"))?,
            gen_time,
            tsa: Some(GeneralName::DirectoryName(
                self.leaf.tbs_certificate.subject.clone(),
            )),
        };
        let tst_der = tst.to_der().map_err(enc("TSTInfo"))?;

        let leaf_tbs = &self.leaf.tbs_certificate;
        let ess = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(Sha256::digest(&self.leaf_der).to_vec())
                    .map_err(enc("ESS cert hash"))?,
                issuer_serial: IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(leaf_tbs.issuer.clone())],
                    serial_number: leaf_tbs.serial_number.clone(),
                },
            }],
        };
        let signed_attrs = SetOfVec::try_from(vec![
            attribute(
                ID_CONTENT_TYPE,
                Any::encode_from(&ID_CT_TST_INFO).map_err(enc("contentType"))?,
            )?,
            attribute(
                ID_MESSAGE_DIGEST,
                Any::new(Tag::OctetString, Sha256::digest(&tst_der).to_vec())
                    .map_err(enc("messageDigest"))?,
            )?,
            attribute(
                ID_SIGNING_CERT_V2,
                Any::encode_from(&ess).map_err(enc("ESS"))?,
            )?,
        ])
        .map_err(enc("signed attributes"))?;
        let to_sign = signed_attrs.to_der().map_err(enc("signed attributes"))?;
        let signature: DerSignature = self.key.sign(&to_sign);

        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: leaf_tbs.issuer.clone(),
                serial_number: leaf_tbs.serial_number.clone(),
            }),
            digest_alg: sha256_alg(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA256,
                parameters: None,
            },
            signature: OctetString::new(signature.as_bytes().to_vec()).map_err(enc("signature"))?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![sha256_alg()])
                .map_err(enc("digest algorithms"))?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, tst_der).map_err(enc("eContent"))?),
            },
            certificates: Some(CertificateSet(
                SetOfVec::try_from(vec![
                    CertificateChoices::Certificate(self.leaf.clone()),
                    CertificateChoices::Certificate(self.root.clone()),
                ])
                .map_err(enc("certificates"))?,
            )),
            crls: None,
            signer_infos: SignerInfos(
                SetOfVec::try_from(vec![signer_info]).map_err(enc("signer infos"))?,
            ),
        };
        ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data).map_err(enc("SignedData"))?,
        }
        .to_der()
        .map_err(enc("ContentInfo"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_a_given_digest_of_each_algorithm_and_nothing_else() {
        use crate::verify::timestamp::{TimestampError, verify_token_digest};
        let tmp = tempfile::tempdir().unwrap();
        let id = TsaIdentity::create(tmp.path(), SystemTime::now()).unwrap();
        let chain = id.chain_pem();
        for alg in crate::verify::hash_alg::ALL {
            let digest = alg.digest(b"evidence record root");
            let token = id.stamp_digest(alg, &digest, SystemTime::now()).unwrap();
            let info = verify_token_digest(&token, alg, &digest, chain.as_bytes()).unwrap();
            assert!(info.signer_not_after_unix > info.gen_time_unix);
            let other = alg.digest(b"another root");
            assert_eq!(
                verify_token_digest(&token, alg, &other, chain.as_bytes()),
                Err(TimestampError::ImprintMismatch)
            );
            // A digest of the wrong length is refused before signing.
            assert!(matches!(
                id.stamp_digest(alg, &digest[1..], SystemTime::now()),
                Err(TsaError::BadDigest)
            ));
        }
        // The same bytes claimed under another algorithm do not match.
        let d = HashAlg::Sha512.digest(b"x");
        let token = id
            .stamp_digest(HashAlg::Sha512, &d, SystemTime::now())
            .unwrap();
        assert_eq!(
            verify_token_digest(&token, HashAlg::Sha384, &d, chain.as_bytes()),
            Err(TimestampError::ImprintMismatch)
        );
    }

    #[test]
    fn encodes_uuid_policy_oid_like_the_verifier_reads_it() {
        let bytes = encode_oid(BUILTIN_POLICY_OID).unwrap();
        assert_eq!(bytes.first(), Some(&0x69));
        assert!(encode_oid("3.1").is_none());
        assert!(encode_oid("1.2.x").is_none());
        assert_eq!(
            encode_oid("1.2.840.113549").unwrap(),
            vec![0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]
        );
    }

    #[test]
    fn a_seeded_identity_and_serial_give_the_same_valid_token_every_time() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_795_973_400);
        let a = TsaIdentity::from_seed(&[7; 32], t).unwrap();
        let b = TsaIdentity::from_seed(&[7; 32], t).unwrap();
        assert_eq!(a.chain_pem(), b.chain_pem());
        let other = TsaIdentity::from_seed(&[8; 32], t).unwrap();
        assert_ne!(a.chain_pem(), other.chain_pem());
        let later = t + std::time::Duration::from_secs(60);
        let ta = a.stamp_with_serial(b"note", later, [1; 16]).unwrap();
        assert_eq!(ta, b.stamp_with_serial(b"note", later, [1; 16]).unwrap());
        assert_ne!(ta, a.stamp_with_serial(b"note", later, [2; 16]).unwrap());
        let info =
            crate::verify::timestamp::verify_token(&ta, b"note", a.chain_pem().as_bytes()).unwrap();
        assert_eq!(info.gen_time_unix, 1_795_973_460);
        assert!(
            crate::verify::timestamp::verify_token(&ta, b"note", other.chain_pem().as_bytes())
                .is_err()
        );
    }
}
