//! RFC 3161 time-stamping, producing side: the built-in TSA and the external TSA client.
//!
//! Owns: the built-in TSA's key pair and certificates on disk ([`TsaIdentity`]), issuing
//! DER TimeStampTokens over SHA-256 of a message ([`TsaIdentity::stamp`]), the client
//! half of the RFC 3161 exchange with a third-party TSA ([`build_request`],
//! [`parse_response`], [`request_token`]) and its HTTP(S) transport ([`HttpTransport`]),
//! the choice between the two ([`TimeStamper`], picked from `evidence.tsa_url` /
//! `evidence.tsa_chain` at start), and background stamping with retries
//! ([`StampQueue`]).
//!
//! One call of [`TimeStamper::stamp`] is one synchronous attempt whose token has been
//! verified with the chain the bundle carries. Retries, backoff and asynchrony live in
//! [`StampQueue`], a thread of its own: a checkpoint is stamped in the background and a
//! slow or failing TSA never stalls the hearing.
//!
//! Must never: write private keys with permissions other than 0600, log key material
//! or the external TSA's URL, read the clock for a token's genTime (the caller passes
//! `now`), accept a reply whose nonce or message imprint differs from the request, or
//! store a token that does not verify. Verification of tokens lives in
//! [`crate::verify::timestamp`].

mod client;
mod http;
mod identity;
mod issue;
mod queue;
mod stamper;

pub use client::{
    Nonce, build_digest_request, build_request, parse_digest_response, parse_response,
    request_token,
};
pub use http::{CALL_TIMEOUT, CONNECT_TIMEOUT, HttpTransport, MAX_REPLY_BYTES};
pub use identity::TsaIdentity;
pub use queue::{RetryPolicy, StampOutcome, StampQueue, StopHandle};
pub use stamper::{ExternalTsa, TimeStamper};

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
    #[error("the digest's length does not fit its hash algorithm")]
    BadDigest,
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
    #[error("the TSA's token does not verify with the configured TSA chain: {0}")]
    Untrusted(#[source] crate::verify::timestamp::TimestampError),
    #[error("the external TSA URL {0}")]
    BadUrl(String),
    #[error("the TSA's time {token_unix} is {skew_secs} s away from this server's clock")]
    ClockSkew { token_unix: i64, skew_secs: i64 },
    #[error("the TSA's time {token_unix} is before its previous token's {previous_unix}")]
    TimeWentBack { token_unix: i64, previous_unix: i64 },
    #[error("the external TSA chain {0}")]
    BadChain(String),
    #[error("cannot read the external TSA chain file {path}: {source}")]
    ChainFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl TsaError {
    fn encode(what: &'static str) -> impl FnOnce(der::Error) -> TsaError {
        move |source| TsaError::Encode { what, source }
    }

    fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> TsaError {
        move |source| TsaError::Io { what, source }
    }
}
