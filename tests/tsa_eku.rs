//! TSA certificates without a proper timeStamping EKU are refused by the verifier,
//! even when the token's signature and chain are fine. The certificates are made here
//! with x509-cert and loaded into the built-in TSA's identity format.
#![cfg(feature = "evidence")]

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use der::EncodePem;
use der::asn1::ObjectIdentifier;
use der::pem::LineEnding;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePrivateKey;
use sworn::evidence::tsa::TsaIdentity;
use sworn::verify::timestamp::{TimestampError, verify_token};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::AsExtension;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

const TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");

/// An EKU extension whose criticality the test chooses.
struct Eku {
    purposes: ExtendedKeyUsage,
    critical: bool,
}

impl der::oid::AssociatedOid for Eku {
    const OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
}

impl der::Encode for Eku {
    fn encoded_len(&self) -> der::Result<der::Length> {
        self.purposes.encoded_len()
    }
    fn encode(&self, w: &mut impl der::Writer) -> der::Result<()> {
        self.purposes.encode(w)
    }
}

impl AsExtension for Eku {
    fn critical(&self, _: &Name, _: &[x509_cert::ext::Extension]) -> bool {
        self.critical
    }
}

/// A private extension (OID under the example arc) that no verifier understands.
struct Unknown;

impl der::oid::AssociatedOid for Unknown {
    const OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.1");
}

impl der::Encode for Unknown {
    fn encoded_len(&self) -> der::Result<der::Length> {
        der::asn1::Null.encoded_len()
    }
    fn encode(&self, w: &mut impl der::Writer) -> der::Result<()> {
        der::asn1::Null.encode(w)
    }
}

impl AsExtension for Unknown {
    fn critical(&self, _: &Name, _: &[x509_cert::ext::Extension]) -> bool {
        true
    }
}

/// Writes a root + TSA identity to `dir` in the layout `TsaIdentity::load` reads.
fn write_identity(dir: &Path, eku: Option<Eku>) {
    write_identity_with(dir, eku, false)
}

fn write_identity_with(dir: &Path, eku: Option<Eku>, unknown_critical: bool) {
    let mut rng = rand::rngs::OsRng;
    let root_key = SigningKey::random(&mut rng);
    let leaf_key = SigningKey::random(&mut rng);
    let now = SystemTime::now() - Duration::from_secs(3600);
    let validity = Validity {
        not_before: Time::try_from(now).unwrap(),
        not_after: Time::try_from(now + Duration::from_secs(86_400 * 365)).unwrap(),
    };
    let root_name = Name::from_str("CN=eku test root").unwrap();
    let spki = |k: &SigningKey| SubjectPublicKeyInfoOwned::from_key(*k.verifying_key()).unwrap();
    let root = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u32),
        validity,
        root_name.clone(),
        spki(&root_key),
        &root_key,
    )
    .unwrap()
    .build::<DerSignature>()
    .unwrap();
    let mut leaf = CertificateBuilder::new(
        Profile::Leaf {
            issuer: root_name,
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(2u32),
        validity,
        Name::from_str("CN=eku test tsa").unwrap(),
        spki(&leaf_key),
        &root_key,
    )
    .unwrap();
    if let Some(eku) = eku {
        leaf.add_extension(&eku).unwrap();
    }
    if unknown_critical {
        leaf.add_extension(&Unknown).unwrap();
    }
    let leaf = leaf.build::<DerSignature>().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let key_pem = leaf_key.to_pkcs8_pem(LineEnding::LF).unwrap();
    std::fs::write(dir.join("tsa-key.pem"), key_pem.as_bytes()).unwrap();
    std::fs::write(dir.join("tsa.pem"), leaf.to_pem(LineEnding::LF).unwrap()).unwrap();
    std::fs::write(
        dir.join("tsa-root.pem"),
        root.to_pem(LineEnding::LF).unwrap(),
    )
    .unwrap();
}

fn verdict(eku: Option<Eku>) -> Result<(), TimestampError> {
    let tmp = tempfile::tempdir().unwrap();
    write_identity(tmp.path(), eku);
    let id = TsaIdentity::load(tmp.path()).unwrap();
    let token = id.stamp(b"m", SystemTime::now()).unwrap();
    verify_token(&token, b"m", id.root_pem().as_bytes()).map(|_| ())
}

#[test]
fn critical_timestamping_eku_is_accepted() {
    let eku = Eku {
        purposes: ExtendedKeyUsage(vec![TIME_STAMPING]),
        critical: true,
    };
    assert_eq!(verdict(Some(eku)), Ok(()));
}

#[test]
fn missing_eku_is_rejected() {
    assert_eq!(verdict(None), Err(TimestampError::MissingEku));
    let other = Eku {
        purposes: ExtendedKeyUsage(vec![CODE_SIGNING]),
        critical: true,
    };
    assert_eq!(verdict(Some(other)), Err(TimestampError::MissingEku));
}

#[test]
fn non_critical_or_shared_eku_is_rejected() {
    let soft = Eku {
        purposes: ExtendedKeyUsage(vec![TIME_STAMPING]),
        critical: false,
    };
    assert_eq!(verdict(Some(soft)), Err(TimestampError::EkuNotCritical));
    let shared = Eku {
        purposes: ExtendedKeyUsage(vec![TIME_STAMPING, CODE_SIGNING]),
        critical: true,
    };
    assert_eq!(verdict(Some(shared)), Err(TimestampError::EkuNotExclusive));
}

#[test]
fn unknown_critical_extension_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let eku = Eku {
        purposes: ExtendedKeyUsage(vec![TIME_STAMPING]),
        critical: true,
    };
    write_identity_with(tmp.path(), Some(eku), true);
    let id = TsaIdentity::load(tmp.path()).unwrap();
    let token = id.stamp(b"m", SystemTime::now()).unwrap();
    assert_eq!(
        verify_token(&token, b"m", id.root_pem().as_bytes()),
        Err(TimestampError::UnknownCriticalExtension {
            oid: "1.3.6.1.4.1.32473.1".into()
        })
    );
}
