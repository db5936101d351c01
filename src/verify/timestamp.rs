//! RFC 3161 time-stamp token verification (pure).
//!
//! Owns: turning the DER bytes of a TimeStampToken, the message it should stamp and a
//! pinned PEM chain into either a [`TokenInfo`] or one named [`TimestampError`]. Checks,
//! in order: structure, message imprint = SHA-256/384/512(message), algorithms (those
//! of `timestamp/algorithms.rs`: RSA PKCS#1 v1.5 or PSS >= 2048 bits, ECDSA P-256/P-384,
//! SHA-256/384/512; anything else fails closed), the signer certificate named by the
//! SignerInfo and bound by the ESS signingCertificateV2 (SHA-256/384/512) and/or
//! signingCertificate (v1, SHA-1) attribute, the contentType and messageDigest signed
//! attributes, the signature over the stored signed-attribute bytes, a path from the
//! signer to a pinned certificate (every one valid at genTime, every signature checked),
//! and a critical, exclusive timeStamping EKU.
//!
//! Must never: read a clock, a file or the network; re-serialise what it verifies; panic
//! on any input. genTime values with fractional seconds (third-party TSAs) are accepted.

mod algorithms;
mod chain;
pub(crate) mod der_walk;
mod public_key;
mod response;
mod signed_data;
mod tst_info;

use sha2::Digest;

use crate::verify::hash_alg::HashAlg;
use algorithms::{DigestAlg, signature_scheme};
use chain::Cert;
pub use response::{TsResponse, parse_response};
use signed_data::SignerId;
pub use tst_info::{GenTime, TstInfo};

/// What a verified token says.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenInfo {
    /// genTime in RFC 3339, UTC, with the fraction digits the TSA wrote, e.g.
    /// `2026-11-29T17:33:09Z` or `2026-11-29T17:33:09.125Z`.
    pub gen_time: String,
    /// genTime as whole seconds since the Unix epoch.
    pub gen_time_unix: i64,
    /// Serial number of the token, lowercase hex.
    pub serial_hex: String,
    /// TSA policy OID, dotted.
    pub policy_oid: String,
    /// The TSA's name: the TSTInfo `tsa` field if present, else the signer's subject.
    pub tsa_name: String,
    /// Nonce (hex) if the token carries one.
    pub nonce_hex: Option<String>,
    /// The TSA (signer) certificate's notAfter, whole seconds since the Unix epoch: a
    /// renewal of an evidence record must come before it (RFC 4998 §5).
    pub signer_not_after_unix: i64,
    /// The same in RFC 3339, UTC.
    pub signer_not_after: String,
}

/// Why a token was rejected. Each check has its own variant.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    #[error("time-stamp token is malformed: {what}")]
    Malformed { what: &'static str },
    #[error("time-stamp token does not stamp this message (imprint mismatch)")]
    ImprintMismatch,
    #[error("unsupported algorithm in {what}: {oid}")]
    UnsupportedAlgorithm { what: &'static str, oid: String },
    #[error("the signer's certificate is not in the token nor in the trusted chain")]
    SignerCertificateMissing,
    #[error("the ESS signingCertificate(V2) attribute is missing")]
    SigningCertificateAttributeMissing,
    #[error("the ESS signingCertificate(V2) hash does not match the signer's certificate")]
    SigningCertificateMismatch,
    #[error("the signed contentType attribute is not id-ct-TSTInfo")]
    ContentTypeMismatch,
    #[error("the signed messageDigest attribute does not match the TSTInfo")]
    MessageDigestMismatch,
    #[error("the TSA signature does not verify")]
    BadSignature,
    #[error("the TSA certificate does not chain to a trusted certificate")]
    UntrustedSigner,
    #[error("a certificate on the TSA path was not valid at genTime")]
    CertificateNotValidAtGenTime,
    #[error("the TSA certificate has no extendedKeyUsage timeStamping")]
    MissingEku,
    #[error("the TSA certificate's extendedKeyUsage is not critical")]
    EkuNotCritical,
    #[error("the TSA certificate's extendedKeyUsage has purposes besides timeStamping")]
    EkuNotExclusive,
    #[error("a certificate on the TSA path has an unknown critical extension {oid}")]
    UnknownCriticalExtension { oid: String },
    #[error("the TSA certificate's keyUsage forbids signing")]
    KeyUsageForbidsSigning,
    #[error("the trusted chain is not a PEM list of certificates")]
    BadTrustedChain,
    #[error("an RSA key on the TSA path has {bits} bits (need at least 2048)")]
    WeakKey { bits: usize },
    #[error("a signature's algorithm does not fit the signing certificate's key type")]
    KeyAlgorithmMismatch,
}

/// A token's TSTInfo and signer certificates, parsed without any trust decision.
#[derive(Clone, Debug)]
pub struct InspectedToken {
    pub tst_info: TstInfo,
}

/// Parses a token's structure and TSTInfo without checking signature or trust.
/// For the TSA client (nonce and imprint checks on a fresh reply); evidence must go
/// through [`verify_token`].
pub fn inspect_token(token_der: &[u8]) -> Result<InspectedToken, TimestampError> {
    let parts = signed_data::parse(token_der)?;
    let tst_info = tst_info::parse(parts.tst_info)?;
    Ok(InspectedToken { tst_info })
}

/// Verifies `token_der` as an RFC 3161 token over SHA-256(`message`), signed by a TSA
/// whose certificate chains to one of the certificates in `trusted_chain_pem`.
pub fn verify_token(
    token_der: &[u8],
    message: &[u8],
    trusted_chain_pem: &[u8],
) -> Result<TokenInfo, TimestampError> {
    verify_with(token_der, trusted_chain_pem, |tst| {
        let alg = imprint_alg(tst)?;
        if tst.imprint != alg.digest(message) {
            return Err(TimestampError::ImprintMismatch);
        }
        Ok(())
    })
}

/// Verifies `token_der` as an RFC 3161 token whose message imprint is exactly `digest`
/// under `alg` (the caller hashed the data: an evidence record's root hash), signed by
/// a TSA whose certificate chains to one of the certificates in `trusted_chain_pem`.
/// A token over the same digest with another algorithm is an [`TimestampError::ImprintMismatch`].
pub fn verify_token_digest(
    token_der: &[u8],
    alg: HashAlg,
    digest: &[u8],
    trusted_chain_pem: &[u8],
) -> Result<TokenInfo, TimestampError> {
    verify_with(token_der, trusted_chain_pem, |tst| {
        if imprint_alg(tst)? != alg || tst.imprint != digest {
            return Err(TimestampError::ImprintMismatch);
        }
        Ok(())
    })
}

/// The imprint's algorithm; anything but SHA-256/384/512 is refused.
fn imprint_alg(tst: &TstInfo) -> Result<HashAlg, TimestampError> {
    HashAlg::from_oid(&tst.imprint_algorithm).ok_or_else(|| TimestampError::UnsupportedAlgorithm {
        what: "message imprint (need SHA-256/384/512)",
        oid: tst.imprint_algorithm.clone(),
    })
}

fn verify_with(
    token_der: &[u8],
    trusted_chain_pem: &[u8],
    check_imprint: impl FnOnce(&TstInfo) -> Result<(), TimestampError>,
) -> Result<TokenInfo, TimestampError> {
    let parts = signed_data::parse(token_der)?;
    let tst = tst_info::parse(parts.tst_info)?;
    check_imprint(&tst)?;
    let signer_digest = DigestAlg::sha2_from_oid_bytes(
        parts.digest_algorithm,
        "SignerInfo digest (need SHA-256/384/512)",
    )?;
    let signature_oid = der::asn1::ObjectIdentifier::from_bytes(parts.signature_algorithm)
        .map_err(|_| TimestampError::Malformed {
            what: "signatureAlgorithm",
        })?;
    let scheme = signature_scheme(
        signature_oid,
        parts.signature_params,
        Some(signer_digest),
        "SignerInfo signature",
    )?;

    let trusted = chain::certs_from_pem(trusted_chain_pem)?;
    let embedded = parts
        .certificates
        .iter()
        .map(|der| Cert::from_der(der))
        .collect::<Result<Vec<_>, _>>()?;
    let signer = embedded
        .iter()
        .chain(trusted.iter())
        .find(|c| is_signer(c, &parts.sid))
        .ok_or(TimestampError::SignerCertificateMissing)?;

    // ESS binds the signer's certificate: v2 (RFC 5035) and/or v1 (RFC 2634, SHA-1,
    // still OpenSSL's default). Each one present must match.
    if parts.signing_cert_v2.is_none() && parts.signing_cert_v1.is_none() {
        return Err(TimestampError::SigningCertificateAttributeMissing);
    }
    if let Some(ess) = parts.signing_cert_v2 {
        let digest = algorithms::ess_v2_digest(ess.hash_algorithm)?;
        if ess.cert_hash != digest.digest(&signer.der) {
            return Err(TimestampError::SigningCertificateMismatch);
        }
    }
    if let Some(hash) = parts.signing_cert_v1 {
        if hash != sha1::Sha1::digest(&signer.der).as_slice() {
            return Err(TimestampError::SigningCertificateMismatch);
        }
    }
    if parts.content_type != signed_data::OID_CT_TST_INFO {
        return Err(TimestampError::ContentTypeMismatch);
    }
    if parts.message_digest != signer_digest.digest(parts.tst_info) {
        return Err(TimestampError::MessageDigestMismatch);
    }

    if !signer
        .public_key()?
        .verify(scheme, &parts.signed_attrs_for_signature, parts.signature)?
    {
        return Err(TimestampError::BadSignature);
    }

    chain::check_path(signer, &embedded, &trusted, tst.gen_time.unix_seconds)?;
    chain::check_tsa_usage(signer)?;

    let tsa_name = match &tst.tsa_general_name {
        Some(der) => general_name_to_string(der),
        None => signer.parsed.tbs_certificate.subject.to_string(),
    };
    Ok(TokenInfo {
        gen_time: tst.gen_time.rfc3339.clone(),
        gen_time_unix: tst.gen_time.unix_seconds,
        serial_hex: tst.serial_hex.clone(),
        policy_oid: tst.policy_oid.clone(),
        tsa_name,
        nonce_hex: tst.nonce.as_deref().map(hex::encode),
        signer_not_after_unix: signer.not_after_unix(),
        signer_not_after: signer.not_after_rfc3339(),
    })
}

fn is_signer(cert: &Cert, sid: &SignerId<'_>) -> bool {
    use der::Decode;
    match sid {
        SignerId::IssuerSerial { issuer, serial } => {
            x509_cert::name::Name::from_der(issuer)
                .is_ok_and(|n| n == cert.parsed.tbs_certificate.issuer)
                && chain::strip_sign_byte(serial) == cert.serial()
        }
        SignerId::KeyId(id) => cert.subject_key_id().is_some_and(|ski| ski == *id),
    }
}

/// Human-readable GeneralName (directoryName as RFC 4514, DNS/URI/e-mail as text).
fn general_name_to_string(der: &[u8]) -> String {
    use der::Decode;
    use x509_cert::ext::pkix::name::GeneralName;
    match GeneralName::from_der(der) {
        Ok(GeneralName::DirectoryName(name)) => name.to_string(),
        Ok(GeneralName::DnsName(s)) => s.to_string(),
        Ok(GeneralName::UniformResourceIdentifier(s)) => s.to_string(),
        Ok(GeneralName::Rfc822Name(s)) => s.to_string(),
        _ => format!("GeneralName:{}", hex::encode(der)),
    }
}
