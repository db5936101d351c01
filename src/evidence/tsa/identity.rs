//! The built-in TSA's identity on disk: a self-signed root CA and a TSA certificate it
//! issued (critical EKU timeStamping, keyUsage digitalSignature + nonRepudiation),
//! each with an ECDSA P-256 key. Private keys are written with mode 0600 and are never
//! printed (the `Debug` impl shows certificates only).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use der::pem::LineEnding;
use der::{DecodePem, Encode, EncodePem};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand::RngCore;
use sha2::{Digest as _, Sha256};
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use super::TsaError;

const ROOT_KEY: &str = "tsa-root-key.pem";
const ROOT_CERT: &str = "tsa-root.pem";
const LEAF_KEY: &str = "tsa-key.pem";
/// Written last: its presence marks a complete identity.
const LEAF_CERT: &str = "tsa.pem";

const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);
/// Certificates start a little in the past so a slightly slow clock elsewhere still
/// sees them valid.
const BACKDATE: Duration = Duration::from_secs(3600);

/// The built-in TSA: its signing key, its certificate and the root that issued it.
pub struct TsaIdentity {
    pub(super) key: SigningKey,
    pub(super) leaf: Certificate,
    pub(super) leaf_der: Vec<u8>,
    pub(super) root: Certificate,
    leaf_pem: String,
    root_pem: String,
}

impl std::fmt::Debug for TsaIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsaIdentity")
            .field("subject", &self.leaf.tbs_certificate.subject.to_string())
            .field("issuer", &self.leaf.tbs_certificate.issuer.to_string())
            .finish_non_exhaustive()
    }
}

impl TsaIdentity {
    /// Loads the identity kept in `dir`, or makes a new root CA and TSA certificate
    /// there at first start (directory mode 0700, key files 0600).
    pub fn load_or_create(dir: &Path) -> Result<Self, TsaError> {
        if dir.join(LEAF_CERT).exists() {
            Self::load(dir)
        } else {
            Self::create(dir, SystemTime::now())
        }
    }

    /// Loads an identity made earlier by [`TsaIdentity::load_or_create`].
    pub fn load(dir: &Path) -> Result<Self, TsaError> {
        let read = |name: &'static str| -> Result<String, TsaError> {
            fs::read_to_string(dir.join(name)).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => TsaError::IncompleteIdentity { missing: name },
                _ => TsaError::Io {
                    what: "reading TSA identity",
                    source: e,
                },
            })
        };
        let key = SigningKey::from_pkcs8_pem(&read(LEAF_KEY)?).map_err(|_| {
            TsaError::BadIdentityFile {
                what: "TSA private key",
            }
        })?;
        let leaf =
            Certificate::from_pem(read(LEAF_CERT)?).map_err(|_| TsaError::BadIdentityFile {
                what: "TSA certificate",
            })?;
        let root =
            Certificate::from_pem(read(ROOT_CERT)?).map_err(|_| TsaError::BadIdentityFile {
                what: "TSA root certificate",
            })?;
        Self::assemble(key, leaf, root)
    }

    fn assemble(key: SigningKey, leaf: Certificate, root: Certificate) -> Result<Self, TsaError> {
        let public = key.verifying_key().to_encoded_point(false);
        let spki = &leaf.tbs_certificate.subject_public_key_info;
        if spki.subject_public_key.raw_bytes() != public.as_bytes() {
            return Err(TsaError::KeyDoesNotMatchCertificate);
        }
        let leaf_der = leaf.to_der().map_err(TsaError::encode("TSA certificate"))?;
        let leaf_pem = leaf
            .to_pem(LineEnding::LF)
            .map_err(TsaError::encode("TSA certificate"))?;
        let root_pem = root
            .to_pem(LineEnding::LF)
            .map_err(TsaError::encode("TSA root certificate"))?;
        Ok(Self {
            key,
            leaf,
            leaf_der,
            root,
            leaf_pem,
            root_pem,
        })
    }

    /// Makes a fresh root CA and TSA certificate valid from `now` (less an hour) and
    /// writes them to `dir`, replacing any partial identity there.
    pub fn create(dir: &Path, now: SystemTime) -> Result<Self, TsaError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(TsaError::io("creating TSA directory"))?;
        let mut rng = rand::rngs::OsRng;
        let root_key = SigningKey::random(&mut rng);
        let leaf_key = SigningKey::random(&mut rng);
        let serials = [random_serial_bytes(), random_serial_bytes()];
        let identity = Self::issue(&root_key, leaf_key, serials, now)?;

        let pem_key = |k: &SigningKey| {
            k.to_pkcs8_pem(LineEnding::LF)
                .map_err(|_| TsaError::BadIdentityFile {
                    what: "encoding a private key",
                })
        };
        write_file(dir, ROOT_KEY, pem_key(&root_key)?.as_bytes(), 0o600)?;
        write_file(dir, ROOT_CERT, identity.root_pem.as_bytes(), 0o644)?;
        write_file(dir, LEAF_KEY, pem_key(&identity.key)?.as_bytes(), 0o600)?;
        write_file(dir, LEAF_CERT, identity.leaf_pem.as_bytes(), 0o644)?;
        Ok(identity)
    }

    /// A reproducible identity for committed test vectors only: its keys and serials are
    /// derived from `seed` (so anyone who knows the seed can sign as it) and it is kept
    /// in memory, never written. Same seed and `now`, same certificates, byte for byte.
    pub fn from_seed(seed: &[u8; 32], now: SystemTime) -> Result<Self, TsaError> {
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut h = Sha256::new();
            h.update(b"sworn test TSA ");
            h.update(label);
            h.update(seed);
            h.finalize().into()
        };
        let key = |label: &'static [u8]| {
            SigningKey::from_slice(&derive(label)).map_err(|_| TsaError::BadIdentityFile {
                what: "seeded private key",
            })
        };
        let serial = |label: &[u8]| -> [u8; 16] {
            let d = derive(label);
            let mut s = [0u8; 16];
            s.copy_from_slice(&d[..16]);
            positive_serial(s)
        };
        Self::issue(
            &key(b"root key")?,
            key(b"leaf key")?,
            [serial(b"root serial"), serial(b"leaf serial")],
            now,
        )
    }

    /// Issues the root and TSA certificates (serials `[root, leaf]`) valid from `now`
    /// less an hour.
    fn issue(
        root_key: &SigningKey,
        leaf_key: SigningKey,
        serials: [[u8; 16]; 2],
        now: SystemTime,
    ) -> Result<Self, TsaError> {
        let start = now.checked_sub(BACKDATE).ok_or(TsaError::BadTime)?;
        let serial = |b: &[u8; 16]| SerialNumber::new(b).map_err(TsaError::encode("serial number"));

        let root_name = name("CN=sworn time-stamping root,O=sworn")?;
        let root = CertificateBuilder::new(
            Profile::Root,
            serial(&serials[0])?,
            validity(start, 30 * YEAR)?,
            root_name.clone(),
            spki(root_key)?,
            root_key,
        )?
        .build::<DerSignature>()?;

        let mut leaf_builder = CertificateBuilder::new(
            Profile::Leaf {
                issuer: root_name,
                enable_key_agreement: false,
                enable_key_encipherment: false,
            },
            serial(&serials[1])?,
            validity(start, 20 * YEAR)?,
            name("CN=sworn time-stamping authority,O=sworn")?,
            spki(&leaf_key)?,
            root_key,
        )?;
        // x509-cert marks EKU critical unless anyExtendedKeyUsage is present.
        leaf_builder.add_extension(&ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]))?;
        let leaf = leaf_builder.build::<DerSignature>()?;
        Self::assemble(leaf_key, leaf, root)
    }

    /// TSA certificate then root certificate, PEM: what a verifier pins or passes to
    /// `openssl ts -verify -untrusted`.
    pub fn chain_pem(&self) -> String {
        format!("{}{}", self.leaf_pem, self.root_pem)
    }

    /// The root certificate, PEM (`openssl ts -verify -CAfile`).
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// The TSA certificate, PEM.
    pub fn leaf_pem(&self) -> &str {
        &self.leaf_pem
    }
}

fn name(s: &str) -> Result<Name, TsaError> {
    Name::from_str(s).map_err(TsaError::encode("certificate name"))
}

fn spki(key: &SigningKey) -> Result<SubjectPublicKeyInfoOwned, TsaError> {
    SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
        .map_err(|e| TsaError::Certificate(e.into()))
}

fn validity(start: SystemTime, length: Duration) -> Result<Validity, TsaError> {
    let end = start.checked_add(length).ok_or(TsaError::BadTime)?;
    Ok(Validity {
        not_before: Time::try_from(start).map_err(|_| TsaError::BadTime)?,
        not_after: Time::try_from(end).map_err(|_| TsaError::BadTime)?,
    })
}

/// A random positive 127-bit serial (RFC 5280: unique, at most 20 octets).
pub(super) fn random_serial_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    positive_serial(bytes)
}

/// Top bit clear keeps a serial positive; bit 6 set keeps its encoding minimal.
pub(super) fn positive_serial(mut bytes: [u8; 16]) -> [u8; 16] {
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    bytes
}

fn write_file(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> Result<(), TsaError> {
    let path = dir.join(name);
    // A leftover from an interrupted first start is replaced, never reused.
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(TsaError::io("replacing TSA identity file")(e)),
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&path)
        .map_err(TsaError::io("writing TSA identity file"))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(TsaError::io("writing TSA identity file"))
}
