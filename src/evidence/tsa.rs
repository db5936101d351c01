//! RFC 3161 time-stamping, producing side: the built-in TSA and the external TSA client.
//!
//! Owns: the built-in TSA's key pair and certificates on disk ([`TsaIdentity`]), issuing
//! DER TimeStampTokens over SHA-256 of a message ([`TsaIdentity::stamp`]), and the
//! client half of the RFC 3161 HTTP exchange with a third-party TSA
//! ([`build_request`], [`parse_response`], [`request_token`]).
//!
//! Everything here is synchronous and does one attempt. Retries, time-outs and
//! asynchrony are the caller's job: a checkpoint is stamped in the background and a
//! slow or failing TSA must never stall the hearing. The HTTP POST
//! (`Content-Type: application/timestamp-query`, reply `application/timestamp-reply`)
//! is done by the caller through the closure given to [`request_token`].
//!
//! Must never: write private keys with permissions other than 0600, log key material,
//! read the clock for a token's genTime (the caller passes `now`), or accept a reply
//! whose nonce or message imprint differs from the request. Verification of tokens
//! lives in [`crate::verify::timestamp`].

mod client;
mod identity;
mod issue;

pub use client::{Nonce, build_request, parse_response, request_token};
pub use identity::TsaIdentity;

/// Policy OID of the built-in TSA: a UUID-based arc (ITU-T X.667, `2.25.<uuid>`), so no
/// registration is needed. Third-party TSAs report their own.
pub const BUILTIN_POLICY_OID: &str = "2.25.322901607972850765080484020159847340703";

/// What went wrong while keeping the TSA identity, issuing a token, or talking to an
/// external TSA.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TsaError {
    #[error("TSA identity I/O failed ({what}): {source}")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("TSA identity directory is incomplete: {missing} is missing")]
    IncompleteIdentity { missing: &'static str },
    #[error("TSA identity file is unreadable: {what}")]
    BadIdentityFile { what: &'static str },
    #[error("the TSA private key does not match its certificate")]
    KeyDoesNotMatchCertificate,
    #[error("could not build a TSA certificate: {0}")]
    Certificate(#[from] x509_cert::builder::Error),
    #[error("DER encoding failed for {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: der::Error,
    },
    #[error("time is before 1970 or not representable in a token")]
    BadTime,
    #[error("the TSA rejected the request (PKIStatus {status})")]
    Rejected {
        status: u32,
        fail_info: Option<String>,
    },
    #[error("the TSA granted the request but sent no token")]
    NoToken,
    #[error("the TSA reply's nonce does not match the request")]
    NonceMismatch,
    #[error("the TSA reply stamps another message (imprint mismatch)")]
    ImprintMismatch,
    #[error("the TSA reply is malformed: {0}")]
    BadReply(#[from] crate::verify::timestamp::TimestampError),
    #[error("transport to the TSA failed: {0}")]
    Transport(String),
}

impl TsaError {
    fn encode(what: &'static str) -> impl FnOnce(der::Error) -> TsaError {
        move |source| TsaError::Encode { what, source }
    }

    fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> TsaError {
        move |source| TsaError::Io { what, source }
    }
}
