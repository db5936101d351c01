//! Structural parsing of a TimeStampToken: the CMS ContentInfo / SignedData envelope
//! (RFC 5652) and its one SignerInfo with signed attributes (RFC 3161, RFC 5035 ESS).
//! Hands out borrowed raw slices of the stored bytes; checks no signature and no trust.

use super::TimestampError;
use super::der_walk::{self, INTEGER, OCTET_STRING, OID, Reader, SEQUENCE, SET, Tlv, ctx_cons};

/// id-signedData 1.2.840.113549.1.7.2
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
/// id-ct-TSTInfo 1.2.840.113549.1.9.16.1.4
pub(crate) const OID_CT_TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
/// id-contentType 1.2.840.113549.1.9.3
const OID_ATTR_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
/// id-messageDigest 1.2.840.113549.1.9.4
const OID_ATTR_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
/// id-aa-signingCertificate 1.2.840.113549.1.9.16.2.12 (ESS v1, SHA-1 cert hash)
const OID_ATTR_SIGNING_CERT_V1: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0c,
];
/// id-aa-signingCertificateV2 1.2.840.113549.1.9.16.2.47
const OID_ATTR_SIGNING_CERT_V2: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x2f,
];

/// How the SignerInfo names its certificate.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SignerId<'a> {
    /// DER of the issuer Name and the serial INTEGER content octets.
    IssuerSerial { issuer: &'a [u8], serial: &'a [u8] },
    /// SubjectKeyIdentifier octets.
    KeyId(&'a [u8]),
}

/// First ESSCertIDv2 of the signingCertificateV2 attribute.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EssCertId<'a> {
    /// Hash algorithm OID content octets (SHA-256 when the DEFAULT is omitted).
    pub hash_algorithm: &'a [u8],
    pub cert_hash: &'a [u8],
}

/// The parts of a token that verification needs, as slices of the token bytes.
#[derive(Clone, Debug)]
pub(crate) struct TokenParts<'a> {
    /// eContent: the DER TSTInfo.
    pub tst_info: &'a [u8],
    /// DER of every certificate carried in the token.
    pub certificates: Vec<&'a [u8]>,
    pub sid: SignerId<'a>,
    pub digest_algorithm: &'a [u8],
    /// The signed attributes, exactly as stored, re-tagged as a SET for signing.
    pub signed_attrs_for_signature: Vec<u8>,
    pub content_type: &'a [u8],
    pub message_digest: &'a [u8],
    pub signing_cert_v2: Option<EssCertId<'a>>,
    /// certHash (SHA-1) of the first ESSCertID of a signingCertificate (v1) attribute.
    pub signing_cert_v1: Option<&'a [u8]>,
    pub signature_algorithm: &'a [u8],
    /// DER of the signatureAlgorithm parameters (RSASSA-PSS-params, NULL), if any.
    pub signature_params: Option<&'a [u8]>,
    pub signature: &'a [u8],
}

/// Parses a DER TimeStampToken into its parts.
pub(crate) fn parse(token: &[u8]) -> Result<TokenParts<'_>, TimestampError> {
    let ci = der_walk::single(token, SEQUENCE, "ContentInfo")?;
    let mut r = ci.children();
    if r.next(OID, "contentType")?.value != OID_SIGNED_DATA {
        return Err(TimestampError::Malformed {
            what: "token is not CMS SignedData",
        });
    }
    let explicit = r.next(ctx_cons(0), "ContentInfo content")?;
    r.finish("ContentInfo")?;
    let sd = der_walk::single(explicit.value, SEQUENCE, "SignedData")?;
    let mut r = sd.children();
    // RFC 5652 §5.1: eContentType other than id-data means version 3.
    if r.next(INTEGER, "SignedData version")?.value != [3] {
        return Err(TimestampError::Malformed {
            what: "SignedData version is not 3",
        });
    }
    let mut digest_algorithms = Vec::new();
    let mut dr = r.next(SET, "digestAlgorithms")?.children();
    while !dr.is_empty() {
        digest_algorithms.push(first_oid(
            dr.next(SEQUENCE, "digestAlgorithms")?,
            "digestAlgorithms",
        )?);
    }

    let eci = r.next(SEQUENCE, "encapContentInfo")?;
    let mut er = eci.children();
    if er.next(OID, "eContentType")?.value != OID_CT_TST_INFO {
        return Err(TimestampError::Malformed {
            what: "eContentType is not id-ct-TSTInfo",
        });
    }
    let econtent = er.next(ctx_cons(0), "eContent")?;
    er.finish("encapContentInfo")?;
    let tst_info = der_walk::single(econtent.value, OCTET_STRING, "eContent")?.value;

    let mut certificates = Vec::new();
    if let Some(certs) = r.next_if(ctx_cons(0), "certificates")? {
        let mut cr = certs.children();
        while !cr.is_empty() {
            let c = cr.next_any("certificate")?;
            // Other CertificateChoices (attribute certs, other formats) are skipped.
            if c.tag == SEQUENCE {
                certificates.push(c.raw);
            }
        }
    }
    r.next_if(ctx_cons(1), "crls")?;
    let infos = r.next(SET, "signerInfos")?;
    r.finish("SignedData")?;

    let mut ir = infos.children();
    let info = ir.next(SEQUENCE, "SignerInfo")?;
    if !ir.is_empty() {
        return Err(TimestampError::Malformed {
            what: "token has more than one SignerInfo",
        });
    }
    let parts = parse_signer_info(info, tst_info, certificates)?;
    if !digest_algorithms.contains(&parts.digest_algorithm) {
        return Err(TimestampError::Malformed {
            what: "SignerInfo digest algorithm not listed in digestAlgorithms",
        });
    }
    Ok(parts)
}

fn parse_signer_info<'a>(
    info: Tlv<'a>,
    tst_info: &'a [u8],
    certificates: Vec<&'a [u8]>,
) -> Result<TokenParts<'a>, TimestampError> {
    let mut r = info.children();
    let version = r.next(INTEGER, "SignerInfo version")?.value;
    let sid_tlv = r.next_any("sid")?;
    let sid = match sid_tlv.tag {
        // RFC 5652 §5.3: version 1 with issuerAndSerialNumber, 3 with a key identifier.
        _ if version != [1] && version != [3] => {
            return Err(TimestampError::Malformed {
                what: "SignerInfo version",
            });
        }
        SEQUENCE if version == [1] => {
            let mut sr = sid_tlv.children();
            let issuer = sr.next(SEQUENCE, "sid issuer")?.raw;
            let serial = sr.next(INTEGER, "sid serial")?.value;
            sr.finish("sid")?;
            SignerId::IssuerSerial { issuer, serial }
        }
        t if t == der_walk::ctx_prim(0) && version == [3] => SignerId::KeyId(sid_tlv.value),
        _ => return Err(TimestampError::Malformed { what: "sid" }),
    };
    let digest_algorithm = first_oid(r.next(SEQUENCE, "digestAlgorithm")?, "digestAlgorithm")?;
    let attrs = r
        .next_if(ctx_cons(0), "signedAttrs")?
        .ok_or(TimestampError::Malformed {
            what: "signedAttrs missing",
        })?;
    let (signature_algorithm, signature_params) = oid_and_params(
        r.next(SEQUENCE, "signatureAlgorithm")?,
        "signatureAlgorithm",
    )?;
    let signature = r.next(OCTET_STRING, "signature")?.value;
    r.next_if(ctx_cons(1), "unsignedAttrs")?;
    r.finish("SignerInfo")?;

    // The signature covers the DER of the attributes with the SET OF tag (RFC 5652 §5.4).
    let mut signed_attrs_for_signature = attrs.raw.to_vec();
    if let Some(tag) = signed_attrs_for_signature.first_mut() {
        *tag = SET;
    }

    let mut content_type = None;
    let mut message_digest = None;
    let mut signing_cert_v2 = None;
    let mut signing_cert_v1 = None;
    let mut ar = attrs.children();
    while !ar.is_empty() {
        let attr = ar.next(SEQUENCE, "signed attribute")?;
        let mut a = attr.children();
        let oid = a.next(OID, "attribute type")?.value;
        let values = a.next(SET, "attribute values")?;
        a.finish("signed attribute")?;
        let mut vr = values.children();
        let value = vr.next_any("attribute value")?;
        let single_valued = vr.is_empty();
        let slot_taken = |slot: bool, what| {
            if slot || !single_valued {
                Err(TimestampError::Malformed { what })
            } else {
                Ok(())
            }
        };
        if oid == OID_ATTR_CONTENT_TYPE {
            slot_taken(content_type.is_some(), "contentType attribute")?;
            content_type = Some(value.expect_tag(OID, "contentType attribute")?.value);
        } else if oid == OID_ATTR_MESSAGE_DIGEST {
            slot_taken(message_digest.is_some(), "messageDigest attribute")?;
            message_digest = Some(
                value
                    .expect_tag(OCTET_STRING, "messageDigest attribute")?
                    .value,
            );
        } else if oid == OID_ATTR_SIGNING_CERT_V2 {
            slot_taken(signing_cert_v2.is_some(), "signingCertificateV2 attribute")?;
            signing_cert_v2 = Some(parse_signing_cert_v2(value)?);
        } else if oid == OID_ATTR_SIGNING_CERT_V1 {
            slot_taken(signing_cert_v1.is_some(), "signingCertificate attribute")?;
            signing_cert_v1 = Some(parse_signing_cert_v1(value)?);
        }
    }
    Ok(TokenParts {
        tst_info,
        certificates,
        sid,
        digest_algorithm,
        signed_attrs_for_signature,
        content_type: content_type.ok_or(TimestampError::Malformed {
            what: "contentType attribute missing",
        })?,
        message_digest: message_digest.ok_or(TimestampError::Malformed {
            what: "messageDigest attribute missing",
        })?,
        signing_cert_v2,
        signing_cert_v1,
        signature_algorithm,
        signature_params,
        signature,
    })
}

/// SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies ... }
/// ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT id-sha256, certHash, issuerSerial OPT }
fn parse_signing_cert_v2(value: Tlv<'_>) -> Result<EssCertId<'_>, TimestampError> {
    let what = "signingCertificateV2 attribute";
    let mut r = value.expect_tag(SEQUENCE, what)?.children();
    let certs = r.next(SEQUENCE, what)?;
    let mut cr = certs.children();
    let first = cr.next(SEQUENCE, what)?;
    let mut fr = first.children();
    let hash_algorithm = match fr.next_if(SEQUENCE, what)? {
        Some(alg) => first_oid(alg, what)?,
        None => super::tst_info::OID_SHA256,
    };
    let cert_hash = fr.next(OCTET_STRING, what)?.value;
    Ok(EssCertId {
        hash_algorithm,
        cert_hash,
    })
}

/// SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID, policies ... }
/// ESSCertID ::= SEQUENCE { certHash OCTET STRING (SHA-1), issuerSerial OPTIONAL }
fn parse_signing_cert_v1(value: Tlv<'_>) -> Result<&[u8], TimestampError> {
    let what = "signingCertificate attribute";
    let mut r = value.expect_tag(SEQUENCE, what)?.children();
    let certs = r.next(SEQUENCE, what)?;
    let first = certs.children().next(SEQUENCE, what)?;
    Ok(first.children().next(OCTET_STRING, what)?.value)
}

/// An AlgorithmIdentifier's OID content octets and the DER of its parameters, if any.
fn oid_and_params<'a>(
    alg: Tlv<'a>,
    what: &'static str,
) -> Result<(&'a [u8], Option<&'a [u8]>), TimestampError> {
    let mut r: Reader<'a> = alg.children();
    let oid = r.next(OID, what)?.value;
    let params = if r.is_empty() {
        None
    } else {
        Some(r.next_any(what)?.raw)
    };
    r.finish(what)?;
    Ok((oid, params))
}

/// The OID content octets that open an AlgorithmIdentifier.
fn first_oid<'a>(alg: Tlv<'a>, what: &'static str) -> Result<&'a [u8], TimestampError> {
    let mut r: Reader<'a> = alg.children();
    Ok(r.next(OID, what)?.value)
}
