//! Where the server's time-stamps come from: the built-in TSA or an external RFC 3161
//! TSA reached over HTTP(S) ([`TimeStamper`]). Either way one call of
//! [`TimeStamper::stamp`] is one attempt, and the token it returns has been verified over
//! the message with the chain the bundle will carry ([`TimeStamper::chain_pem`]): a
//! token that does not verify is an error, never a result.
//!
//! Must never: retry or sleep (see [`super::StampQueue`]), log the TSA's URL, or hand out
//! a token it did not verify.

use std::path::Path;
use std::time::{Duration, SystemTime};

use x509_cert::Certificate;

use super::TsaError;
use super::http::HttpTransport;
use super::identity::TsaIdentity;
use crate::verify::hash_alg::HashAlg;
use crate::verify::timestamp::{verify_token, verify_token_digest};

/// The source of RFC 3161 time-stamp tokens for checkpoints (hearing and custody logs).
#[derive(Debug)]
pub enum TimeStamper {
    /// The server's own TSA (key and certificates made at first start).
    Builtin(Box<TsaIdentity>),
    /// A third-party TSA (`evidence.tsa_url`), trusted through `evidence.tsa_chain`.
    External(ExternalTsa),
}

/// A third-party TSA: its URL and the certificates (root included) its tokens must
/// chain to.
#[derive(Debug)]
pub struct ExternalTsa {
    transport: HttpTransport,
    chain_pem: String,
    /// The built-in TSA's chain: tokens it issued before the server switched to the
    /// external TSA (e.g. in the server-wide custody log) still verify.
    builtin_chain_pem: String,
    /// The genTime of the last token accepted from this TSA (Unix seconds).
    last_time: std::sync::Mutex<Option<i64>>,
}

/// How far a token's time may be from this server's clock (either way).
pub const MAX_TSA_SKEW_SECS: i64 = 300;

/// Checks a token's time against the local clock (`now_unix`) and the previous token's
/// time: a TSA whose clock disagrees with ours by minutes, or runs backwards, is not
/// believed.
pub fn check_token_time(
    token_unix: i64,
    now_unix: i64,
    previous: Option<i64>,
) -> Result<(), TsaError> {
    let skew = token_unix.saturating_sub(now_unix);
    if skew.abs() > MAX_TSA_SKEW_SECS {
        return Err(TsaError::ClockSkew {
            token_unix,
            skew_secs: skew,
        });
    }
    // Times are whole seconds in most tokens: equal is fine, earlier is not.
    if let Some(previous_unix) = previous.filter(|p| token_unix < *p) {
        return Err(TsaError::TimeWentBack {
            token_unix,
            previous_unix,
        });
    }
    Ok(())
}

impl ExternalTsa {
    /// Checks the URL and the PEM chain (at least one certificate, one of them a
    /// self-issued root) and makes the HTTP client.
    pub fn new(url: &str, chain_pem: &[u8], builtin: &TsaIdentity) -> Result<Self, TsaError> {
        let mut tsa = Self::standalone(url, chain_pem)?;
        tsa.builtin_chain_pem = builtin.chain_pem();
        Ok(tsa)
    }

    /// Like [`ExternalTsa::new`] without a built-in TSA behind it (`sworn archive renew
    /// --tsa-url`, run outside a server).
    pub fn standalone(url: &str, chain_pem: &[u8]) -> Result<Self, TsaError> {
        let transport = HttpTransport::new(url)?;
        let text = std::str::from_utf8(chain_pem)
            .map_err(|_| TsaError::BadChain("not a PEM text file".into()))?;
        let certs = Certificate::load_pem_chain(chain_pem)
            .map_err(|e| TsaError::BadChain(format!("not a PEM certificate chain ({e})")))?;
        if certs.is_empty() {
            return Err(TsaError::BadChain("holds no certificate".into()));
        }
        if !certs
            .iter()
            .any(|c| c.tbs_certificate.subject == c.tbs_certificate.issuer)
        {
            return Err(TsaError::BadChain(
                "holds no root certificate (subject = issuer); include the TSA's root".into(),
            ));
        }
        let mut chain = text.trim_end().to_owned();
        chain.push('\n');
        Ok(ExternalTsa {
            transport,
            chain_pem: chain,
            builtin_chain_pem: String::new(),
            last_time: std::sync::Mutex::new(None),
        })
    }

    /// One request/response with the TSA; the token is checked against the request
    /// (status, nonce, imprint) and then verified over `message` with the chain.
    fn stamp(&self, message: &[u8], within: Option<Duration>) -> Result<Vec<u8>, TsaError> {
        use sha2::Digest;
        self.stamp_digest(HashAlg::Sha256, &sha2::Sha256::digest(message), within)
    }

    /// Like [`ExternalTsa::stamp`] for a digest the caller made.
    fn stamp_digest(
        &self,
        alg: HashAlg,
        digest: &[u8],
        within: Option<Duration>,
    ) -> Result<Vec<u8>, TsaError> {
        let (request, nonce) = super::build_digest_request(alg, digest)?;
        let reply = self.transport.post(&request, within)?;
        let token = super::parse_digest_response(&reply, nonce, alg, digest)?;
        let info = verify_token_digest(&token, alg, digest, self.chain_pem.as_bytes())
            .map_err(TsaError::Untrusted)?;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let mut last = self.last_time.lock().unwrap_or_else(|p| p.into_inner());
        check_token_time(info.gen_time_unix, now, *last)?;
        *last = Some(info.gen_time_unix);
        Ok(token)
    }
}

impl TimeStamper {
    /// The built-in TSA, or, when `external` names a URL and a PEM chain file, that TSA
    /// (the built-in identity's chain stays trusted for older tokens).
    pub fn configure(
        builtin: TsaIdentity,
        external: Option<(&str, &Path)>,
    ) -> Result<TimeStamper, TsaError> {
        let Some((url, chain_file)) = external else {
            return Ok(TimeStamper::Builtin(Box::new(builtin)));
        };
        let chain = std::fs::read(chain_file).map_err(|source| TsaError::ChainFile {
            path: chain_file.to_owned(),
            source,
        })?;
        Ok(TimeStamper::External(ExternalTsa::new(
            url, &chain, &builtin,
        )?))
    }

    /// One attempt at a verified token over SHA-256(`message`).
    pub fn stamp(&self, message: &[u8]) -> Result<Vec<u8>, TsaError> {
        self.stamp_within(message, None)
    }

    /// Like [`TimeStamper::stamp`], but an external TSA's round trip is cut off after
    /// `within` (the built-in TSA takes milliseconds).
    pub fn stamp_within(
        &self,
        message: &[u8],
        within: Option<Duration>,
    ) -> Result<Vec<u8>, TsaError> {
        match self {
            TimeStamper::Builtin(id) => {
                let token = id.stamp(message, SystemTime::now())?;
                verify_token(&token, message, id.chain_pem().as_bytes())
                    .map_err(TsaError::Untrusted)?;
                Ok(token)
            }
            TimeStamper::External(x) => x.stamp(message, within),
        }
    }

    /// One attempt at a verified token whose imprint is `digest` under `alg` (an
    /// evidence record's root hash, `evidence::archive`).
    pub fn stamp_digest(&self, alg: HashAlg, digest: &[u8]) -> Result<Vec<u8>, TsaError> {
        match self {
            TimeStamper::Builtin(id) => {
                let token = id.stamp_digest(alg, digest, SystemTime::now())?;
                verify_token_digest(&token, alg, digest, id.chain_pem().as_bytes())
                    .map_err(TsaError::Untrusted)?;
                Ok(token)
            }
            TimeStamper::External(x) => x.stamp_digest(alg, digest, None),
        }
    }

    /// The certificates tokens from this source chain to, PEM: `tsa/chain.pem` in a
    /// bundle, the chain served at `/.well-known/sworn/server-key`.
    pub fn chain_pem(&self) -> String {
        match self {
            TimeStamper::Builtin(id) => id.chain_pem(),
            TimeStamper::External(x) => x.chain_pem.clone(),
        }
    }

    /// Every chain this server's logs may hold tokens from: the current source's, and
    /// the built-in TSA's when an external TSA is configured (for logs that span the
    /// switch, like the custody log).
    pub fn all_chains_pem(&self) -> String {
        match self {
            TimeStamper::Builtin(id) => id.chain_pem(),
            TimeStamper::External(x) => format!("{}{}", x.chain_pem, x.builtin_chain_pem),
        }
    }

    /// The chain a bundle carries for the tokens stored in `checkpoints_dir`
    /// (`NNNNNN.tsr` next to `NNNNNN.note`): [`TimeStamper::chain_pem`], followed by the
    /// built-in TSA's chain when an external TSA is configured and some token there
    /// verifies only with the latter (a hearing that spans a change of TSA, e.g. one
    /// recovered after a restart with a new configuration).
    pub fn chain_for(&self, checkpoints_dir: &Path) -> String {
        let TimeStamper::External(x) = self else {
            return self.chain_pem();
        };
        let Ok(dir) = std::fs::read_dir(checkpoints_dir) else {
            return self.chain_pem();
        };
        let needs_builtin = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "tsr"))
            .any(|tsr| {
                let (Ok(token), Ok(note)) = (
                    std::fs::read(&tsr),
                    std::fs::read(tsr.with_extension("note")),
                ) else {
                    return false;
                };
                verify_token(&token, &note, x.chain_pem.as_bytes()).is_err()
                    && verify_token(&token, &note, x.builtin_chain_pem.as_bytes()).is_ok()
            });
        if needs_builtin {
            self.all_chains_pem()
        } else {
            self.chain_pem()
        }
    }

    /// True for a third-party TSA (network round trips; may be slow or down).
    pub fn is_external(&self) -> bool {
        matches!(self, TimeStamper::External(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_chain_covers_every_stored_token() {
        let tmp = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let builtin = TsaIdentity::create(&tmp.path().join("builtin"), now).unwrap();
        let other = TsaIdentity::create(&tmp.path().join("other"), now).unwrap();
        let builtin_chain = builtin.chain_pem();
        let external = ExternalTsa::new(
            "http://127.0.0.1:9/tsa",
            other.chain_pem().as_bytes(),
            &builtin,
        )
        .unwrap();
        let stamper = TimeStamper::External(external);
        let cps = tmp.path().join("checkpoints");
        std::fs::create_dir(&cps).unwrap();
        assert_eq!(stamper.chain_for(&cps), other.chain_pem());

        // A token from the external TSA: its chain alone.
        std::fs::write(cps.join("000002.note"), b"two\n").unwrap();
        let t2 = other.stamp(b"two\n", now).unwrap();
        std::fs::write(cps.join("000002.tsr"), t2).unwrap();
        assert_eq!(stamper.chain_for(&cps), other.chain_pem());

        // And one the built-in TSA issued before the switch: both chains.
        std::fs::write(cps.join("000001.note"), b"one\n").unwrap();
        let t1 = builtin.stamp(b"one\n", now).unwrap();
        std::fs::write(cps.join("000001.tsr"), &t1).unwrap();
        let both = stamper.chain_for(&cps);
        assert_eq!(both, format!("{}{}", other.chain_pem(), builtin_chain));
        verify_token(&t1, b"one\n", both.as_bytes()).unwrap();

        // The built-in stamper's chain is its own, whatever is stored.
        let own = TimeStamper::Builtin(Box::new(builtin));
        assert_eq!(own.chain_for(&cps), builtin_chain);
    }
}

#[cfg(test)]
mod time_checks {
    use super::*;

    #[test]
    fn a_token_far_from_our_clock_or_going_back_is_refused() {
        assert!(check_token_time(1_000_000, 1_000_010, None).is_ok());
        assert!(check_token_time(1_000_000, 1_000_000, Some(1_000_000)).is_ok());
        assert!(matches!(
            check_token_time(1_000_000, 1_000_000 + MAX_TSA_SKEW_SECS + 1, None),
            Err(TsaError::ClockSkew { .. })
        ));
        assert!(matches!(
            check_token_time(1_000_000 + 3600, 1_000_000, None),
            Err(TsaError::ClockSkew { .. })
        ));
        assert!(matches!(
            check_token_time(1_000_000, 1_000_000, Some(1_000_005)),
            Err(TsaError::TimeWentBack { .. })
        ));
    }
}
