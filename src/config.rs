//! Configuration: a TOML file plus `SWORN_*` environment overrides, parsed once into a
//! validated [`Config`]. Defaults run a complete server on one machine: HTTP on
//! 127.0.0.1:8080, SQLite and files under `./sworn-data`, one UDP port for all media.

mod cluster;
mod limits;
mod retrieval;
mod storage;

pub use cluster::ClusterConfig;
pub use limits::{HttpLimits, SignInLimits};
pub use retrieval::RetrievalLimits;
pub use storage::{S3Settings, SecretString, StorageConfig};

use crate::turn_credentials::TurnSecret;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name} is not valid: {message}")]
    Env { name: &'static str, message: String },
    #[error("invalid setting {key}: {message}")]
    Invalid { key: &'static str, message: String },
    #[error("cannot read turn.secret_file {path}: {source}")]
    TurnSecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The file format (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    tls: RawTls,
    #[serde(default)]
    media: RawMedia,
    #[serde(default)]
    ice_servers: Vec<IceServer>,
    #[serde(default)]
    turn: RawTurn,
    #[serde(default)]
    hearing: RawHearing,
    #[serde(default)]
    evidence: RawEvidence,
    #[serde(default)]
    sign_in: limits::RawSignIn,
    #[serde(default)]
    retrieval: retrieval::RawRetrieval,
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    cluster: cluster::RawCluster,
    #[serde(default)]
    storage: storage::RawStorage,
}

/// `[database]`: where the metadata lives (`store::Database`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    bind: Option<String>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    name: Option<String>,
    threads: Option<usize>,
    dangerous_plain_http: Option<bool>,
    client_address_header: Option<String>,
    header_timeout_secs: Option<u64>,
    body_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_address: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    mode: Option<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMedia {
    udp_port: Option<u16>,
    bind_ip: Option<String>,
    public_ips: Option<Vec<String>>,
    loopback_only: Option<bool>,
    private_candidates: Option<bool>,
    rx_batch_ms: Option<u64>,
    tcp_port: Option<u16>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTurn {
    urls: Option<Vec<String>>,
    secret: Option<String>,
    secret_file: Option<PathBuf>,
    ttl_secs: Option<u64>,
}

impl std::fmt::Debug for RawTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawTurn")
            .field("urls", &self.urls)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("secret_file", &self.secret_file)
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHearing {
    invite_ttl_hours: Option<u64>,
    reconnect_grace_secs: Option<u64>,
    rotate_after_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvidence {
    checkpoint_interval_secs: Option<u64>,
    tsa_url: Option<String>,
    tsa_chain: Option<PathBuf>,
}

/// A TURN/STUN server handed to browsers (`RTCIceServer`).
#[derive(Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl std::fmt::Debug for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field(
                "credential",
                &self.credential.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Default `turn.ttl_secs`: how long a participant connection's TURN credential works.
pub const DEFAULT_TURN_TTL_SECS: u64 = 3600;
/// Bounds of `turn.ttl_secs`: a minute (time to set up ICE) to a day.
pub const TURN_TTL_SECS: std::ops::RangeInclusive<u64> = 60..=86_400;
/// Shortest `static-auth-secret` accepted (characters after trimming).
pub const TURN_SECRET_MIN_LEN: usize = 16;

/// A TURN server that shares a secret with sworn (coturn `use-auth-secret`): every
/// participant connection is handed its own credential, valid for `ttl`.
#[derive(Clone, Debug)]
pub struct TurnConfig {
    /// `turn:` / `turns:` URLs of the server.
    pub urls: Vec<String>,
    /// coturn's `static-auth-secret`.
    pub secret: TurnSecret,
    pub ttl: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TlsMode {
    /// Plain HTTP: only for loopback or behind a TLS-terminating proxy.
    Off,
    /// A self-signed certificate made at first start, for LAN use.
    SelfSigned,
    /// Certificate and key files (PEM).
    Files { cert: PathBuf, key: PathBuf },
}

/// Validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub public_url: String,
    pub data_dir: PathBuf,
    /// Server name used in checkpoint origins.
    pub server_name: String,
    pub tls: TlsMode,
    pub media: MediaConfig,
    /// Static entries (STUN, or a TURN server with one credential for everyone).
    pub ice_servers: Vec<IceServer>,
    /// A TURN server with per-connection credentials.
    pub turn: Option<TurnConfig>,
    pub invite_ttl: Duration,
    pub reconnect_grace: Duration,
    pub checkpoint_interval: Duration,
    /// External RFC 3161 TSA (`http://` or `https://`); `None`: the built-in TSA.
    pub tsa_url: Option<String>,
    /// PEM file with the external TSA's certificates, root included (set with `tsa_url`).
    pub tsa_chain: Option<PathBuf>,
    /// Recordings start a new file after this long.
    pub rotate_after: Duration,
    /// Threads of the async runtime (signalling, HTTP and the WebRTC media path); `None`:
    /// one per core. Recorders, sealing and derived copies run on their own threads.
    pub threads: Option<usize>,
    /// Serve plain HTTP on a non-loopback address (a TLS-terminating proxy in front).
    pub dangerous_plain_http: bool,
    /// Lower-case name of a header the proxy in front sets to the client's address
    /// (its right-most entry is used); `None`: the TCP peer is the client.
    pub client_address_header: Option<String>,
    pub http: HttpLimits,
    pub sign_in: SignInLimits,
    /// `[retrieval]`: custody coalescing, ranged sessions, exports, quotas.
    pub retrieval: RetrievalLimits,
    /// `database.url` (`SWORN_DATABASE_URL`): the metadata store; default SQLite in
    /// `data_dir`. Prints redacted.
    pub database: crate::store::Database,
    /// `[cluster]`: this server is one node of several (`None`: the only one).
    pub cluster: Option<ClusterConfig>,
    /// `[storage]` (`SWORN_STORAGE_*`): where sealed files are archived; default the
    /// data directory only. Prints redacted.
    pub storage: StorageConfig,
}

/// Default `media.rx_batch_ms`: see `MediaConfig::rx_batch` and README "Measured".
pub const DEFAULT_RX_BATCH_MS: u64 = 5;

#[derive(Clone, Debug)]
pub struct MediaConfig {
    /// UDP port for all media (0: any free port).
    pub udp_port: u16,
    pub bind_ip: IpAddr,
    /// Public addresses to advertise behind NAT (1:1).
    pub public_ips: Vec<IpAddr>,
    /// Only loopback candidates (tests, single-machine demos).
    pub loopback_only: bool,
    /// Use peers' candidates on private networks (RFC 1918, 100.64/10, ULA). Default:
    /// only when one of the server's own media addresses is private (a court's LAN).
    pub private_candidates: bool,
    /// How long the media socket's reader lets datagrams gather before taking them as one
    /// batch (1–20 ms). Longer batches cost less CPU and add at most this much latency to
    /// every packet.
    pub rx_batch: Duration,
    /// TCP port of the passive ICE-TCP candidate (RFC 6544) for networks that block UDP
    /// (0: any free port); None: no TCP candidate.
    pub tcp_port: Option<u16>,
}

impl Config {
    /// Loads the optional file, then applies environment overrides, then validates.
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut raw = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str::<RawConfig>(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.message().to_owned(),
                })?
            }
            None => RawConfig::default(),
        };
        apply_env(&mut raw, env)?;
        validate(raw)
    }

    /// Defaults for tests: loopback only, everything under `data_dir`.
    pub fn for_tests(data_dir: PathBuf) -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: "http://127.0.0.1:0".into(),
            data_dir,
            server_name: "sworn.test".into(),
            tls: TlsMode::Off,
            media: MediaConfig {
                udp_port: 0,
                bind_ip: IpAddr::from([127, 0, 0, 1]),
                public_ips: vec![],
                loopback_only: true,
                private_candidates: false,
                rx_batch: Duration::from_millis(DEFAULT_RX_BATCH_MS),
                tcp_port: Some(0),
            },
            ice_servers: vec![],
            turn: None,
            invite_ttl: Duration::from_secs(72 * 3600),
            reconnect_grace: Duration::from_secs(20),
            checkpoint_interval: Duration::from_secs(10),
            tsa_url: None,
            tsa_chain: None,
            rotate_after: Duration::from_secs(3600),
            threads: None,
            dangerous_plain_http: false,
            client_address_header: None,
            http: HttpLimits::default(),
            sign_in: SignInLimits::default(),
            retrieval: RetrievalLimits::default(),
            database: crate::store::Database::DataDir,
            cluster: None,
            storage: StorageConfig::Local,
        }
    }

    /// The origin (`scheme://host[:port]`, lower case, default port left out) of
    /// `public_url`: what browsers send as `Origin` from our own pages.
    pub fn public_origin(&self) -> String {
        origin_of(&self.public_url)
    }

    /// Whether serving on `bound` is allowed: plain HTTP (`tls.mode = "off"`) only on a
    /// loopback address, unless `server.dangerous_plain_http` says a TLS-terminating
    /// proxy is in front, in which case the warning to log is returned.
    pub fn plain_http_check(&self, bound: IpAddr) -> Result<Option<String>, ConfigError> {
        if self.tls != TlsMode::Off || bound.is_loopback() {
            return Ok(None);
        }
        if self.dangerous_plain_http {
            return Ok(Some(
                "serving plain HTTP on a non-loopback address (server.dangerous_plain_http = true): \
                 passwords and session cookies cross the network in clear unless a TLS-terminating \
                 proxy is in front"
                    .into(),
            ));
        }
        Err(ConfigError::Invalid {
            key: "tls.mode",
            message: "plain HTTP is refused on a non-loopback address: set tls.mode to \
                      \"self_signed\" or \"files\", or bind to 127.0.0.1 behind a reverse proxy \
                      (or, with a TLS-terminating proxy in front, set server.dangerous_plain_http = true)"
                .into(),
        })
    }

    /// Whether browsers reach the server over HTTPS (Secure, `__Host-` cookies, HSTS).
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The ICE servers handed to one participant connection: the static
    /// `[[ice_servers]]`, then, with `[turn]`, the TURN server with a credential made for
    /// this connection alone. `connection_id` is opaque to the TURN server (random, never
    /// a name); the credential expires `turn.ttl_secs` after `now_unix`.
    pub fn ice_servers_for(&self, now_unix: u64, connection_id: &str) -> Vec<IceServer> {
        let mut list = self.ice_servers.clone();
        if let Some(turn) = &self.turn {
            let c = turn
                .secret
                .credential(now_unix, turn.ttl.as_secs(), connection_id);
            list.push(IceServer {
                urls: turn.urls.clone(),
                username: Some(c.username),
                credential: Some(c.password),
            });
        }
        list
    }

    /// [`Config::ice_servers_for`] a connection starting now, under a fresh random id.
    pub fn ice_servers_now(&self) -> Vec<IceServer> {
        let now = u64::try_from(crate::secrets::now_unix()).unwrap_or(0);
        self.ice_servers_for(now, &crate::secrets::new_id())
    }

    /// What the operator should hear about at start (no secret in it).
    pub fn warnings(&self) -> Vec<String> {
        let storage = match &self.storage {
            StorageConfig::S3(s) => s.plain_http_warning(),
            StorageConfig::Local => None,
        };
        self.ice_servers
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.credential.is_some()
                    && s.urls
                        .iter()
                        .any(|u| u.starts_with("turn:") || u.starts_with("turns:"))
            })
            .map(|(i, _)| {
                format!(
                    "ice_servers entry {} hands the same static TURN credential to every participant; \
                     use [turn] with a secret shared with the TURN server (coturn use-auth-secret) instead",
                    i + 1
                )
            })
            .chain(storage)
            .collect()
    }
}

/// `scheme://host[:port]` of an http(s) URL, lower case, without a default port.
pub fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority
        .rsplit('@')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    format!("{scheme}://{authority}")
}

fn apply_env(raw: &mut RawConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    if let Some(v) = env("SWORN_BIND") {
        raw.server.bind = Some(v);
    }
    if let Some(v) = env("SWORN_PUBLIC_URL") {
        raw.server.public_url = Some(v);
    }
    if let Some(v) = env("SWORN_DATA_DIR") {
        raw.server.data_dir = Some(v.into());
    }
    if let Some(v) = env("SWORN_SERVER_NAME") {
        raw.server.name = Some(v);
    }
    if let Some(v) = env("SWORN_TLS_MODE") {
        raw.tls.mode = Some(v);
    }
    if let Some(v) = env("SWORN_TLS_CERT") {
        raw.tls.cert = Some(v.into());
    }
    if let Some(v) = env("SWORN_TLS_KEY") {
        raw.tls.key = Some(v.into());
    }
    if let Some(v) = env("SWORN_UDP_PORT") {
        let port = v.parse().map_err(|_| ConfigError::Env {
            name: "SWORN_UDP_PORT",
            message: "expected a port number".into(),
        })?;
        raw.media.udp_port = Some(port);
    }
    if let Some(v) = env("SWORN_MEDIA_BIND_IP") {
        raw.media.bind_ip = Some(v);
    }
    if let Some(v) = env("SWORN_PUBLIC_IP") {
        raw.media.public_ips = Some(comma_list(&v));
    }
    if let Some(v) = env("SWORN_TCP_PORT") {
        let port = v.parse().map_err(|_| ConfigError::Env {
            name: "SWORN_TCP_PORT",
            message: "expected a port number".into(),
        })?;
        raw.media.tcp_port = Some(port);
    }
    if let Some(v) = env("SWORN_RX_BATCH_MS") {
        let ms = v.parse().map_err(|_| ConfigError::Env {
            name: "SWORN_RX_BATCH_MS",
            message: "expected milliseconds".into(),
        })?;
        raw.media.rx_batch_ms = Some(ms);
    }
    if let Some(v) = env("SWORN_PRIVATE_CANDIDATES") {
        raw.media.private_candidates = Some(matches!(v.as_str(), "1" | "true" | "yes"));
    }
    if let Some(v) = env("SWORN_LOOPBACK_ONLY") {
        raw.media.loopback_only = Some(matches!(v.as_str(), "1" | "true" | "yes"));
    }
    if let Some(v) = env("SWORN_THREADS") {
        let n = v.parse().map_err(|_| ConfigError::Env {
            name: "SWORN_THREADS",
            message: "expected a number of threads".into(),
        })?;
        raw.server.threads = Some(n);
    }
    if let Some(v) = env("SWORN_DANGEROUS_PLAIN_HTTP") {
        raw.server.dangerous_plain_http = Some(matches!(v.as_str(), "1" | "true" | "yes"));
    }
    if let Some(v) = env("SWORN_TSA_URL") {
        raw.evidence.tsa_url = Some(v);
    }
    if let Some(v) = env("SWORN_TSA_CHAIN") {
        raw.evidence.tsa_chain = Some(v.into());
    }
    if let Some(v) = env("SWORN_TURN_URLS") {
        raw.turn.urls = Some(comma_list(&v));
    }
    if let Some(v) = env("SWORN_TURN_SECRET_FILE") {
        raw.turn.secret_file = Some(v.into());
        raw.turn.secret = None;
    }
    if let Some(v) = env("SWORN_DATABASE_URL") {
        raw.database.url = Some(v);
    }
    if let Some(v) = env("SWORN_NODE_ID") {
        raw.cluster.node_id = Some(v);
    }
    if let Some(v) = env("SWORN_INTERNAL_URL") {
        raw.cluster.internal_url = Some(v);
    }
    if let Some(v) = env("SWORN_CLUSTER_SECRET_FILE") {
        raw.cluster.secret_file = Some(v.into());
    }
    storage::apply_env(&mut raw.storage, env);
    if let Some(v) = env("SWORN_TURN_TTL_SECS") {
        let secs = v.parse().map_err(|_| ConfigError::Env {
            name: "SWORN_TURN_TTL_SECS",
            message: "expected seconds".into(),
        })?;
        raw.turn.ttl_secs = Some(secs);
    }
    Ok(())
}

/// `a, b,,c` -> `["a", "b", "c"]`: an environment variable holding a list.
fn comma_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn validate(raw: RawConfig) -> Result<Config, ConfigError> {
    let bind: SocketAddr = raw
        .server
        .bind
        .as_deref()
        .unwrap_or("127.0.0.1:8080")
        .parse()
        .map_err(|_| ConfigError::Invalid {
            key: "server.bind",
            message: "expected ip:port".into(),
        })?;
    let tls = match raw.tls.mode.as_deref().unwrap_or("off") {
        "off" => TlsMode::Off,
        "self_signed" => TlsMode::SelfSigned,
        "files" => match (raw.tls.cert, raw.tls.key) {
            (Some(cert), Some(key)) => TlsMode::Files { cert, key },
            _ => {
                return Err(ConfigError::Invalid {
                    key: "tls",
                    message: "mode \"files\" needs cert and key".into(),
                });
            }
        },
        _ => {
            return Err(ConfigError::Invalid {
                key: "tls.mode",
                message: "expected off, self_signed or files".into(),
            });
        }
    };
    let scheme = if tls == TlsMode::Off { "http" } else { "https" };
    let public_url = raw
        .server
        .public_url
        .unwrap_or_else(|| format!("{scheme}://{bind}"));
    let public_url = public_url.trim_end_matches('/').to_owned();
    if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
        return Err(ConfigError::Invalid {
            key: "server.public_url",
            message: "must start with http:// or https://".into(),
        });
    }
    let loopback_only = raw.media.loopback_only.unwrap_or(bind.ip().is_loopback());
    let default_media_ip = if loopback_only {
        "127.0.0.1"
    } else {
        "0.0.0.0"
    };
    let bind_ip = raw
        .media
        .bind_ip
        .as_deref()
        .unwrap_or(default_media_ip)
        .parse()
        .map_err(|_| ConfigError::Invalid {
            key: "media.bind_ip",
            message: "expected an IP address".into(),
        })?;
    let public_ips = raw
        .media
        .public_ips
        .unwrap_or_default()
        .iter()
        .map(|s| s.parse::<IpAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ConfigError::Invalid {
            key: "media.public_ips",
            message: "expected IP addresses".into(),
        })?;
    let private_candidates = raw.media.private_candidates.unwrap_or_else(|| {
        std::iter::once(bind_ip)
            .chain(public_ips.iter().copied())
            .any(crate::rtc::is_private)
    });
    for s in &raw.ice_servers {
        if s.urls.is_empty()
            || !s.urls.iter().all(|u| {
                u.starts_with("stun:") || u.starts_with("turn:") || u.starts_with("turns:")
            })
        {
            return Err(ConfigError::Invalid {
                key: "ice_servers",
                message: "urls must be stun:, turn: or turns: URLs".into(),
            });
        }
    }
    let rx_batch_ms = match raw.media.rx_batch_ms {
        None => DEFAULT_RX_BATCH_MS,
        Some(ms @ 1..=20) => ms,
        Some(_) => {
            return Err(ConfigError::Invalid {
                key: "media.rx_batch_ms",
                message: "expected 1 to 20 (milliseconds of added latency)".into(),
            });
        }
    };
    let grace = raw.hearing.reconnect_grace_secs.unwrap_or(20);
    let interval = raw.evidence.checkpoint_interval_secs.unwrap_or(10);
    if interval == 0 {
        return Err(ConfigError::Invalid {
            key: "evidence.checkpoint_interval_secs",
            message: "must be at least 1".into(),
        });
    }
    let (tsa_url, tsa_chain) = validate_tsa(raw.evidence.tsa_url, raw.evidence.tsa_chain)?;
    let turn = validate_turn(raw.turn)?;
    let threads = match raw.server.threads {
        None => None,
        Some(n @ 1..=256) => Some(n),
        Some(_) => {
            return Err(ConfigError::Invalid {
                key: "server.threads",
                message: "expected 1 to 256".into(),
            });
        }
    };
    let client_address_header = match raw.server.client_address_header.as_deref() {
        None | Some("") => None,
        Some(h) => match axum::http::HeaderName::from_bytes(h.as_bytes()) {
            Ok(name) => Some(name.as_str().to_owned()),
            Err(_) => {
                return Err(ConfigError::Invalid {
                    key: "server.client_address_header",
                    message: "expected a header name such as X-Forwarded-For".into(),
                });
            }
        },
    };
    let http = limits::validate_http(limits::RawHttpLimits {
        header_timeout_secs: raw.server.header_timeout_secs,
        body_timeout_secs: raw.server.body_timeout_secs,
        idle_timeout_secs: raw.server.idle_timeout_secs,
        max_connections: raw.server.max_connections,
        max_connections_per_address: raw.server.max_connections_per_address,
    })?;
    let sign_in = limits::validate_sign_in(raw.sign_in)?;
    let database = match raw.database.url.as_deref() {
        None | Some("") => crate::store::Database::DataDir,
        Some(url) => crate::store::Database::parse(url).map_err(|e| ConfigError::Invalid {
            key: "database.url",
            message: e.to_string(),
        })?,
    };
    let retrieval = retrieval::validate(raw.retrieval)?;
    let postgres = matches!(database, crate::store::Database::Postgres(_));
    let cluster = cluster::validate(raw.cluster, postgres)?;
    let storage = storage::validate(raw.storage)?;
    Ok(Config {
        bind,
        public_url,
        data_dir: raw
            .server
            .data_dir
            .unwrap_or_else(|| PathBuf::from("./sworn-data")),
        server_name: raw.server.name.unwrap_or_else(|| "sworn".into()),
        tls,
        media: MediaConfig {
            udp_port: raw.media.udp_port.unwrap_or(0),
            bind_ip,
            public_ips,
            loopback_only,
            private_candidates,
            rx_batch: Duration::from_millis(rx_batch_ms),
            tcp_port: raw.media.tcp_port,
        },
        ice_servers: raw.ice_servers,
        turn,
        invite_ttl: Duration::from_secs(
            raw.hearing
                .invite_ttl_hours
                .unwrap_or(72)
                .saturating_mul(3600),
        ),
        reconnect_grace: Duration::from_secs(grace),
        checkpoint_interval: Duration::from_secs(interval),
        tsa_url,
        tsa_chain,
        rotate_after: Duration::from_secs(raw.hearing.rotate_after_secs.unwrap_or(3600).max(10)),
        threads,
        dangerous_plain_http: raw.server.dangerous_plain_http.unwrap_or(false),
        client_address_header,
        http,
        sign_in,
        retrieval,
        database,
        cluster,
        storage,
    })
}

/// `evidence.tsa_url` and `evidence.tsa_chain` go together: an external TSA's tokens
/// are checked against its chain before they are stored. (The chain file itself is read
/// and checked at start, by `TimeStamper::configure`.)
fn validate_tsa(
    url: Option<String>,
    chain: Option<PathBuf>,
) -> Result<(Option<String>, Option<PathBuf>), ConfigError> {
    let url = url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    let chain = chain.filter(|c| !c.as_os_str().is_empty());
    match (&url, &chain) {
        (Some(u), Some(_)) => {
            let lower = u.to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    key: "evidence.tsa_url",
                    message: "must start with http:// or https://".into(),
                });
            }
        }
        (Some(_), None) => {
            return Err(ConfigError::Invalid {
                key: "evidence.tsa_chain",
                message: "is required with evidence.tsa_url: a PEM file with the TSA's certificates, root included".into(),
            });
        }
        (None, Some(_)) => {
            return Err(ConfigError::Invalid {
                key: "evidence.tsa_url",
                message: "is required with evidence.tsa_chain".into(),
            });
        }
        (None, None) => {}
    }
    Ok((url, chain))
}

/// `[turn]`: all absent, or URLs + exactly one of `secret` / `secret_file` (read here)
/// + an optional bounded `ttl_secs`.
fn validate_turn(raw: RawTurn) -> Result<Option<TurnConfig>, ConfigError> {
    let urls = raw.urls.unwrap_or_default();
    if urls.is_empty() && raw.secret.is_none() && raw.secret_file.is_none() {
        if raw.ttl_secs.is_some() {
            return Err(ConfigError::Invalid {
                key: "turn.ttl_secs",
                message: "is set but turn.urls and a secret are not".into(),
            });
        }
        return Ok(None);
    }
    if urls.is_empty() {
        return Err(ConfigError::Invalid {
            key: "turn.urls",
            message: "at least one turn: or turns: URL is required with a TURN secret".into(),
        });
    }
    if let Some(bad) = urls.iter().find(|u| !turn_url_ok(u)) {
        let message = if bad.starts_with("stun:") || bad.starts_with("stuns:") {
            "stun: URLs need no credential: list them under [[ice_servers]]".to_owned()
        } else {
            "each URL must be turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT][?transport=tcp]".to_owned()
        };
        return Err(ConfigError::Invalid {
            key: "turn.urls",
            message,
        });
    }
    let (key, secret) = match (raw.secret, raw.secret_file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Invalid {
                key: "turn.secret",
                message: "set turn.secret or turn.secret_file, not both".into(),
            });
        }
        (None, None) => {
            return Err(ConfigError::Invalid {
                key: "turn.secret_file",
                message: "is required with turn.urls: a file holding the TURN server's static-auth-secret (or SWORN_TURN_SECRET_FILE)".into(),
            });
        }
        (Some(s), None) => ("turn.secret", s.into_bytes()),
        (None, Some(path)) => match std::fs::read(&path) {
            Ok(bytes) => ("turn.secret_file", bytes),
            Err(source) => return Err(ConfigError::TurnSecretFile { path, source }),
        },
    };
    let secret = secret.trim_ascii();
    if secret.len() < TURN_SECRET_MIN_LEN {
        return Err(ConfigError::Invalid {
            key,
            message: format!(
                "the secret is shorter than {TURN_SECRET_MIN_LEN} characters (make one with `openssl rand -hex 32`)"
            ),
        });
    }
    let secret = TurnSecret::new(secret).map_err(|e| ConfigError::Invalid {
        key,
        message: e.to_string(),
    })?;
    let ttl_secs = raw.ttl_secs.unwrap_or(DEFAULT_TURN_TTL_SECS);
    if !TURN_TTL_SECS.contains(&ttl_secs) {
        return Err(ConfigError::Invalid {
            key: "turn.ttl_secs",
            message: format!(
                "expected {} to {} seconds",
                TURN_TTL_SECS.start(),
                TURN_TTL_SECS.end()
            ),
        });
    }
    Ok(Some(TurnConfig {
        urls,
        secret,
        ttl: Duration::from_secs(ttl_secs),
    }))
}

/// `turn:` or `turns:` followed by a host, no white space.
fn turn_url_ok(url: &str) -> bool {
    let rest = url
        .strip_prefix("turn:")
        .or_else(|| url.strip_prefix("turns:"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with(['?', ':', '/'])
            && !r.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

#[cfg(test)]
mod tests;
