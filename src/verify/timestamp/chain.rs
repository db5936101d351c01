//! Certificates of a time-stamp token: the TSA signer's key, its critical
//! timeStamping EKU, its validity at genTime, and a path from it to a pinned trusted
//! certificate whose signatures use the algorithms of `algorithms.rs` (RSA PKCS#1 v1.5
//! or PSS, ECDSA P-256/P-384; SHA-256/384/512). It reads no clock: validity is judged
//! at the token's genTime, never at "now".

use der::Decode;
use der::oid::ObjectIdentifier;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};

use super::TimestampError;
use super::algorithms::signature_scheme;
use super::der_walk::{self, SEQUENCE};
use super::public_key::PublicKey;

const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const ID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const ID_CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const ID_CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const ID_CE_SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const ID_CE_AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const ID_CE_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");

/// Extensions this verifier understands; any other one marked critical fails the
/// certificate (RFC 5280 §4.2).
const UNDERSTOOD: [ObjectIdentifier; 6] = [
    ID_CE_BASIC_CONSTRAINTS,
    ID_CE_KEY_USAGE,
    ID_CE_EXT_KEY_USAGE,
    ID_CE_SUBJECT_KEY_ID,
    ID_CE_AUTHORITY_KEY_ID,
    ID_CE_SUBJECT_ALT_NAME,
];

/// Longest issuer chain followed from the signer to a trusted certificate.
const MAX_PATH: usize = 8;

/// A parsed certificate together with its stored bytes.
#[derive(Clone, Debug)]
pub(crate) struct Cert {
    pub der: Vec<u8>,
    tbs_raw: Vec<u8>,
    pub parsed: Certificate,
}

impl Cert {
    pub fn from_der(der: &[u8]) -> Result<Self, TimestampError> {
        let what = "certificate";
        let outer = der_walk::single(der, SEQUENCE, what)?;
        let tbs_raw = outer.children().next(SEQUENCE, what)?.raw.to_vec();
        let parsed = Certificate::from_der(der).map_err(|_| TimestampError::Malformed { what })?;
        Ok(Self {
            der: der.to_vec(),
            tbs_raw,
            parsed,
        })
    }

    /// The public key of this certificate (EC P-256/P-384 or RSA >= 2048 bits).
    pub fn public_key(&self) -> Result<PublicKey, TimestampError> {
        PublicKey::from_spki(&self.parsed.tbs_certificate.subject_public_key_info)
    }

    fn extension(&self, oid: ObjectIdentifier) -> Option<&x509_cert::ext::Extension> {
        self.parsed
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id == oid)
    }

    fn decoded_extension<T: for<'a> Decode<'a>>(
        &self,
        oid: ObjectIdentifier,
    ) -> Result<Option<(bool, T)>, TimestampError> {
        match self.extension(oid) {
            None => Ok(None),
            Some(ext) => T::from_der(ext.extn_value.as_bytes())
                .map(|v| Some((ext.critical, v)))
                .map_err(|_| TimestampError::Malformed {
                    what: "certificate extension",
                }),
        }
    }

    /// SubjectKeyIdentifier octets, if the certificate has one.
    pub fn subject_key_id(&self) -> Option<Vec<u8>> {
        self.decoded_extension::<SubjectKeyIdentifier>(ID_CE_SUBJECT_KEY_ID)
            .ok()
            .flatten()
            .map(|(_, ski)| ski.0.as_bytes().to_vec())
    }

    /// Serial number content octets without sign padding.
    pub fn serial(&self) -> &[u8] {
        strip_sign_byte(self.parsed.tbs_certificate.serial_number.as_bytes())
    }

    /// notAfter, whole seconds since the Unix epoch.
    pub fn not_after_unix(&self) -> i64 {
        let t = self.parsed.tbs_certificate.validity.not_after;
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    }

    /// notAfter in RFC 3339, UTC (`2046-11-29T17:33:09Z`).
    pub fn not_after_rfc3339(&self) -> String {
        let t = self
            .parsed
            .tbs_certificate
            .validity
            .not_after
            .to_date_time();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minutes(),
            t.seconds()
        )
    }

    fn valid_at(&self, unix_seconds: i64) -> bool {
        let v = &self.parsed.tbs_certificate.validity;
        let secs = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        secs(v.not_before) <= unix_seconds && unix_seconds <= secs(v.not_after)
    }

    /// The first critical extension this verifier does not understand, if any.
    fn unknown_critical_extension(&self) -> Option<String> {
        self.parsed
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.critical && !UNDERSTOOD.contains(&e.extn_id))
            .map(|e| e.extn_id.to_string())
    }

    fn is_ca(&self) -> bool {
        let ca = matches!(
            self.decoded_extension::<BasicConstraints>(ID_CE_BASIC_CONSTRAINTS),
            Ok(Some((_, BasicConstraints { ca: true, .. })))
        );
        let may_sign_certs = match self.decoded_extension::<KeyUsage>(ID_CE_KEY_USAGE) {
            Ok(Some((_, ku))) => ku.key_cert_sign(),
            Ok(None) => true,
            Err(_) => false,
        };
        ca && may_sign_certs
    }

    /// True when `issuer`'s key made this certificate's signature.
    fn issued_by(&self, issuer: &Cert) -> Result<bool, TimestampError> {
        use der::Encode;
        if self.parsed.tbs_certificate.issuer != issuer.parsed.tbs_certificate.subject {
            return Ok(false);
        }
        let alg = &self.parsed.signature_algorithm;
        let params = match &alg.parameters {
            Some(any) => Some(any.to_der().map_err(|_| TimestampError::Malformed {
                what: "certificate signature algorithm",
            })?),
            None => None,
        };
        let scheme = signature_scheme(alg.oid, params.as_deref(), None, "certificate signature")?;
        let Some(signature) = self.parsed.signature.as_bytes() else {
            return Ok(false);
        };
        issuer
            .public_key()?
            .verify(scheme, &self.tbs_raw, signature)
    }
}

/// Strips the zero byte that keeps a positive INTEGER positive.
pub(crate) fn strip_sign_byte(v: &[u8]) -> &[u8] {
    match v {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => v,
    }
}

/// The TSA certificate must carry a critical extendedKeyUsage with only timeStamping
/// (RFC 3161 §2.3), and a keyUsage, if any, that allows signing.
pub(crate) fn check_tsa_usage(signer: &Cert) -> Result<(), TimestampError> {
    let (critical, eku) = signer
        .decoded_extension::<ExtendedKeyUsage>(ID_CE_EXT_KEY_USAGE)?
        .ok_or(TimestampError::MissingEku)?;
    if !eku.0.contains(&ID_KP_TIME_STAMPING) {
        return Err(TimestampError::MissingEku);
    }
    if eku.0.len() != 1 {
        return Err(TimestampError::EkuNotExclusive);
    }
    if !critical {
        return Err(TimestampError::EkuNotCritical);
    }
    if let Some((_, ku)) = signer.decoded_extension::<KeyUsage>(ID_CE_KEY_USAGE)? {
        if !ku.digital_signature() && !ku.non_repudiation() {
            return Err(TimestampError::KeyUsageForbidsSigning);
        }
    }
    Ok(())
}

/// Follows issuers from `signer` (using `pool` and `trusted` as candidates) until a
/// certificate byte-identical to one in `trusted` is reached. Every certificate on the
/// path must be valid at `at` (genTime, Unix seconds).
pub(crate) fn check_path(
    signer: &Cert,
    pool: &[Cert],
    trusted: &[Cert],
    at: i64,
) -> Result<(), TimestampError> {
    let mut current = signer;
    for _ in 0..MAX_PATH {
        if !current.valid_at(at) {
            return Err(TimestampError::CertificateNotValidAtGenTime);
        }
        if let Some(oid) = current.unknown_critical_extension() {
            return Err(TimestampError::UnknownCriticalExtension { oid });
        }
        if trusted.iter().any(|t| t.der == current.der) {
            return Ok(());
        }
        let mut next = None;
        for candidate in trusted.iter().chain(pool.iter()) {
            if candidate.der != current.der && candidate.is_ca() && current.issued_by(candidate)? {
                next = Some(candidate);
                break;
            }
        }
        current = next.ok_or(TimestampError::UntrustedSigner)?;
    }
    Err(TimestampError::UntrustedSigner)
}

/// Every CERTIFICATE block of a PEM text, decoded to DER. Other blocks are ignored.
pub(crate) fn certs_from_pem(pem: &[u8]) -> Result<Vec<Cert>, TimestampError> {
    use base64::Engine;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let bad = TimestampError::BadTrustedChain;
    let text = std::str::from_utf8(pem).map_err(|_| bad.clone())?;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = rest.get(start + BEGIN.len()..).ok_or(bad.clone())?;
        let end = after.find(END).ok_or(bad.clone())?;
        let body: String = after
            .get(..end)
            .ok_or(bad.clone())?
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| bad.clone())?;
        out.push(Cert::from_der(&der).map_err(|_| bad.clone())?);
        rest = after.get(end + END.len()..).ok_or(bad.clone())?;
    }
    if out.is_empty() {
        return Err(bad);
    }
    Ok(out)
}
