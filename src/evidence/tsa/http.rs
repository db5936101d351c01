//! HTTP(S) transport to an external RFC 3161 TSA: one POST of a DER TimeStampReq
//! (`Content-Type: application/timestamp-query`), one reply read back with its status,
//! content type and size checked. Blocking (ureq, rustls with the ring provider and the
//! webpki root store for `https://`), bounded in time ([`CONNECT_TIMEOUT`],
//! [`CALL_TIMEOUT`]) and in size ([`MAX_REPLY_BYTES`]); no redirects are followed.
//!
//! Must never: retry (the caller does), put the URL or a network address into an error
//! or a log line (a TSA URL can hold an IP address or credentials), or read more than
//! [`MAX_REPLY_BYTES`] of a reply.

use std::time::Duration;

use super::TsaError;

/// Largest reply accepted. Real tokens with a chain are a few KiB.
pub const MAX_REPLY_BYTES: u64 = 256 * 1024;
/// Time allowed to resolve and connect to the TSA.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for a whole request/reply round trip.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

const QUERY_TYPE: &str = "application/timestamp-query";
/// RFC 3161 §3.4; some TSAs still send the pre-RFC name `application/timestamp-response`.
const REPLY_TYPES: [&str; 2] = [
    "application/timestamp-reply",
    "application/timestamp-response",
];

/// A validated `http://` or `https://` URL of an external TSA and a client for it.
pub struct HttpTransport {
    url: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry credentials or an address: only its scheme is shown.
        let scheme = self.url.split(':').next().unwrap_or_default();
        f.debug_struct("HttpTransport")
            .field("scheme", &scheme)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// Checks `url` (absolute `http://` or `https://` with a host) and makes the client.
    pub fn new(url: &str) -> Result<HttpTransport, TsaError> {
        let uri: ureq::http::Uri = url
            .parse()
            .map_err(|_| TsaError::BadUrl("not a valid URL".into()))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => {
                return Err(TsaError::BadUrl(
                    "must start with http:// or https://".into(),
                ));
            }
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(TsaError::BadUrl("has no host".into()));
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(CALL_TIMEOUT))
            .user_agent(concat!("sworn/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(HttpTransport {
            url: url.to_owned(),
            agent: config.into(),
        })
    }

    /// Whether the TSA is reached over TLS.
    pub fn is_https(&self) -> bool {
        self.url.starts_with("https://")
    }

    /// POSTs `request_der` and returns the reply body: status 200, a time-stamp reply
    /// content type, at most [`MAX_REPLY_BYTES`]. One attempt, over within
    /// [`CALL_TIMEOUT`] or `within` if shorter.
    pub fn post(&self, request_der: &[u8], within: Option<Duration>) -> Result<Vec<u8>, TsaError> {
        let limit = within.map_or(CALL_TIMEOUT, |w| w.min(CALL_TIMEOUT));
        let mut resp = self
            .agent
            .post(&self.url)
            .config()
            .timeout_global(Some(limit))
            .build()
            .header("Content-Type", QUERY_TYPE)
            .header("Accept", REPLY_TYPES[0])
            .send(request_der)
            .map_err(transport)?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(TsaError::Transport(format!("HTTP status {status}")));
        }
        let mime = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if !REPLY_TYPES.contains(&mime.as_str()) {
            return Err(TsaError::Transport(
                "the reply is not an application/timestamp-reply".into(),
            ));
        }
        resp.body_mut()
            .with_config()
            .limit(MAX_REPLY_BYTES)
            .read_to_vec()
            .map_err(transport)
    }
}

/// A description of a ureq failure that names no host, address or URL.
fn transport(e: ureq::Error) -> TsaError {
    let what = match &e {
        ureq::Error::StatusCode(s) => format!("HTTP status {s}"),
        // rustls reports certificate and handshake failures as InvalidData; their text
        // names the TLS problem (e.g. an unknown issuer), never an address.
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            format!("TLS or protocol failure: {io}")
        }
        ureq::Error::Io(io) => format!("I/O error ({:?})", io.kind()),
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::BodyExceedsLimit(_) => {
            format!("the reply is larger than {MAX_REPLY_BYTES} bytes")
        }
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => {
            "the TSA answered with a redirect".into()
        }
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
            "TLS handshake or certificate failure".into()
        }
        ureq::Error::Protocol(_) | ureq::Error::LargeResponseHeader(..) => {
            "the reply is not valid HTTP".into()
        }
        _ => "HTTP request failed".into(),
    };
    TsaError::Transport(what)
}
