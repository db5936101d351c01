//! Client of a third-party RFC 3161 TSA: builds the TimeStampReq (SHA-256 imprint of a
//! message, or a SHA-256/384/512 digest the caller made,
//! random 63-bit nonce, certReq true) and checks the TimeStampResp (status granted,
//! nonce and imprint equal to the request). It never does I/O itself and never judges
//! trust in the TSA: evidence checks go through `verify::timestamp::verify_token` with
//! the TSA's pinned chain.

use der::Encode;
use der::asn1::{Int, OctetString};
use rand::RngCore;
use sha2::{Digest, Sha256};
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

use super::TsaError;
use super::issue::hash_alg_id;
use crate::verify::hash_alg::HashAlg;
use crate::verify::timestamp::{inspect_token, parse_response as parse_resp};

/// The nonce of one request; the reply must echo it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nonce(pub u64);

impl Nonce {
    fn random() -> Self {
        // 63 bits: always a positive INTEGER, never zero.
        Nonce((rand::rngs::OsRng.next_u64() >> 1) | 1)
    }

    /// Minimal big-endian content octets of the positive INTEGER, without sign byte.
    fn magnitude(self) -> Vec<u8> {
        let bytes = self.0.to_be_bytes();
        let first = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        bytes.get(first..).map(<[u8]>::to_vec).unwrap_or_default()
    }

    /// INTEGER content octets (with a sign byte when the top bit is set).
    fn der_content(self) -> Vec<u8> {
        let mut m = self.magnitude();
        if m.first().is_some_and(|b| b & 0x80 != 0) {
            m.insert(0, 0);
        }
        m
    }
}

/// Builds a DER TimeStampReq for SHA-256(`message`) and returns it with its nonce.
pub fn build_request(message: &[u8]) -> Result<(Vec<u8>, Nonce), TsaError> {
    build_digest_request(HashAlg::Sha256, &Sha256::digest(message))
}

/// Builds a DER TimeStampReq whose imprint is `digest` under `alg`, with its nonce.
pub fn build_digest_request(alg: HashAlg, digest: &[u8]) -> Result<(Vec<u8>, Nonce), TsaError> {
    if digest.len() != alg.output_len() {
        return Err(TsaError::BadDigest);
    }
    let nonce = Nonce::random();
    let enc = TsaError::encode;
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: hash_alg_id(alg)?,
            hashed_message: OctetString::new(digest.to_vec()).map_err(enc("imprint"))?,
        },
        req_policy: None,
        nonce: Some(Int::new(&nonce.der_content()).map_err(enc("nonce"))?),
        cert_req: true,
        extensions: None,
    };
    Ok((req.to_der().map_err(enc("TimeStampReq"))?, nonce))
}

/// Checks a DER TimeStampResp against the request (`nonce`, `message`) and returns the
/// token's DER exactly as the TSA sent it.
pub fn parse_response(resp_der: &[u8], nonce: Nonce, message: &[u8]) -> Result<Vec<u8>, TsaError> {
    parse_digest_response(resp_der, nonce, HashAlg::Sha256, &Sha256::digest(message))
}

/// Like [`parse_response`] for a request made by [`build_digest_request`]: the token's
/// imprint must be `digest` under `alg`.
pub fn parse_digest_response(
    resp_der: &[u8],
    nonce: Nonce,
    alg: HashAlg,
    digest: &[u8],
) -> Result<Vec<u8>, TsaError> {
    let resp = parse_resp(resp_der)?;
    if !resp.granted() {
        return Err(TsaError::Rejected {
            status: resp.status,
            fail_info: resp.fail_info.map(hex::encode),
        });
    }
    let token = resp.token.ok_or(TsaError::NoToken)?;
    let tst = inspect_token(token)?.tst_info;
    if tst.nonce.as_deref() != Some(nonce.magnitude().as_slice()) {
        return Err(TsaError::NonceMismatch);
    }
    if HashAlg::from_oid(&tst.imprint_algorithm) != Some(alg) || tst.imprint.as_slice() != digest {
        return Err(TsaError::ImprintMismatch);
    }
    Ok(token.to_vec())
}

/// One request/response round trip: `post` sends the DER request
/// (`application/timestamp-query`) and returns the body of the reply. No retry here.
pub fn request_token<E: std::fmt::Display>(
    message: &[u8],
    post: impl FnOnce(Vec<u8>) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, TsaError> {
    let (req, nonce) = build_request(message)?;
    let reply = post(req).map_err(|e| TsaError::Transport(e.to_string()))?;
    parse_response(&reply, nonce, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_encodings_are_minimal() {
        assert_eq!(Nonce(1).magnitude(), vec![1]);
        assert_eq!(Nonce(0x80).der_content(), vec![0, 0x80]);
        assert_eq!(Nonce(0x0102).magnitude(), vec![1, 2]);
        assert_eq!(Nonce(0).magnitude(), vec![0]);
    }
}
