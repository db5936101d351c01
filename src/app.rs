//! Assembles the server: data directory, store, media engine, hearings, HTTP; runs it
//! until the shutdown future resolves, then closes hearings gracefully.

use crate::config::{Config, TlsMode};
use crate::domain::StaffRole;
use crate::hearing::{HearingDeps, Hearings};
use crate::http::AppState;
use crate::rtc::RtcEngine;
use crate::store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The default log filter. The media stack (str0m and its ICE agent `is`) logs at info
/// and above with every address wrapped in its `Pii` type, which the `pii` feature
/// redacts; its debug and trace levels are noisy and stay off (trace is not redacted).
pub const DEFAULT_LOG_FILTER: &str = "info,str0m=info,is=info,dimpl=warn";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("media: {0}")]
    Rtc(#[from] crate::rtc::RtcError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("server signing key: {0}")]
    Key(#[from] crate::evidence::KeyFileError),
    #[error("time-stamping authority: {0}")]
    Tsa(#[from] crate::evidence::tsa::TsaError),
    #[error("{0}")]
    Custody(#[from] crate::custody::CustodyError),
    #[error("object storage: {0}")]
    Blobs(#[from] crate::blobs::BlobError),
    #[error("another sworn process uses the data directory {0} (stop the server first)")]
    Locked(PathBuf),
    #[error(
        "live nodes {0} sign with another server key or time-stamping authority: every node of a \
         cluster signs with one key (copy the data directory's keys/ and tsa/ from one node to the \
         others before their first start, or give them all one evidence.tsa_url)"
    )]
    ClusterKey(String),
}

/// Takes the data directory's lock ([`crate::data_lock`]).
pub fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File, AppError> {
    crate::data_lock::lock(dir).map_err(|e| match e {
        crate::data_lock::LockError::Held => AppError::Locked(dir.to_path_buf()),
        crate::data_lock::LockError::Io(source) => AppError::DataDir {
            path: dir.join("sworn.lock"),
            source,
        },
    })
}

/// The server's signing key (created at first start, mode 0600) and its time-stamping
/// source: the built-in TSA (made at first start), or the external TSA of
/// `evidence.tsa_url`, trusted through `evidence.tsa_chain`.
pub fn load_identities(
    config: &Config,
) -> Result<
    (
        Arc<crate::evidence::ServerKey>,
        Arc<crate::evidence::tsa::TimeStamper>,
    ),
    AppError,
> {
    let keys = config.data_dir.join("keys");
    std::fs::create_dir_all(&keys).map_err(|source| AppError::DataDir {
        path: keys.clone(),
        source,
    })?;
    let key =
        crate::evidence::ServerKey::load_or_create(&keys.join("server.key"), &config.server_name)?;
    let builtin = crate::evidence::tsa::TsaIdentity::load_or_create(&config.data_dir.join("tsa"))?;
    let external = config.tsa_url.as_deref().zip(config.tsa_chain.as_deref());
    let tsa = crate::evidence::tsa::TimeStamper::configure(builtin, external)?;
    if !tsa.is_external() {
        tracing::warn!(
            "time-stamps come from the built-in TSA, whose key sits beside the server key: \
             they order the record but prove nothing against the operator. For hearings \
             whose record must hold in court, set evidence.tsa_url and evidence.tsa_chain \
             (an external RFC 3161 TSA)"
        );
    }
    Ok((Arc::new(key), Arc::new(tsa)))
}

/// A built server, ready to run.
pub struct App {
    pub state: Arc<AppState>,
    pub rtc: RtcEngine,
    /// The data directory's lock ([`lock_data_dir`]), held while the server runs.
    _lock: std::fs::File,
}

impl App {
    /// Opens the data directory and the database and binds the media port.
    pub async fn build(config: Config) -> Result<App, AppError> {
        // rustls is built with two crypto providers (ring, ours; aws-lc-rs, which
        // object_store's HTTP client brings): whatever asks rustls for the process
        // default (the TLS listener, webrtc-rs peers in tests) needs one chosen.
        let _ = rustls::crypto::ring::default_provider().install_default();
        for warning in config.warnings() {
            tracing::warn!("{warning}");
        }
        let dir = config.data_dir.clone();
        std::fs::create_dir_all(&dir).map_err(|source| AppError::DataDir {
            path: dir.clone(),
            source,
        })?;
        restrict_dir(&dir).map_err(|source| AppError::DataDir {
            path: dir.clone(),
            source,
        })?;
        let lock = lock_data_dir(&dir)?;
        let store = Arc::new(Store::open(&config.database, &dir).await?);
        tracing::info!(backend = store.backend_name(), "metadata store open");
        let (key, tsa) = load_identities(&config)?;
        let custody = Arc::new(crate::custody::Custody::open(
            &dir,
            &config.server_name,
            key.clone(),
            tsa.clone(),
            crate::custody::CustodyOptions {
                checkpoint_interval: config.retrieval.checkpoint_interval,
                range_session: config.retrieval.range_session,
            },
        )?);
        let paths = crate::paths::DataPaths::new(&dir);
        let blobs = Arc::new(crate::blobs::Blobs::open(&config.storage, &paths)?);
        check_blobs(&blobs).await?;
        let rtc = RtcEngine::start(&config.media).await?;
        let retrieval_limits = config.retrieval.clone();
        let cluster = config.cluster.clone();
        let config = Arc::new(config);
        let hearings = Arc::new(Hearings::new(HearingDeps {
            config: config.clone(),
            store: store.clone(),
            rtc: rtc.clone(),
            key: key.clone(),
            tsa: tsa.clone(),
            blobs: blobs.clone(),
        }));
        let sign_in = crate::http::throttle::SignInThrottle::new(config.sign_in.clone());
        let state = Arc::new(AppState {
            config,
            store,
            hearings,
            key,
            custody,
            tsa,
            sign_in,
            whip: Default::default(),
            retrieval: crate::http::quota::Retrieval::new(retrieval_limits),
            cluster: cluster.map(|c| Arc::new(crate::cluster::Cluster::new(c))),
            paths,
            blobs,
        });
        // A cluster node says it is alive before it serves (placement needs a live node)
        // and recovers only the hearings placed on it.
        let mine: Option<std::collections::HashSet<crate::domain::HearingId>> = match &state.cluster
        {
            Some(c) => {
                let n = &c.config;
                state
                    .store
                    .node_heartbeat(&n.node_id, &n.internal_url, 0)
                    .await?;
                // One signing key (and one time-stamping authority) for the whole
                // cluster, or a hearing moved off a dead node could not go on signing
                // its log, nor its bundle check the dead node's time-stamps.
                let identity = {
                    use sha2::Digest as _;
                    let tsa = sha2::Sha256::digest(state.tsa.chain_pem().as_bytes());
                    format!("{} tsa:{}", state.key.fingerprint(), hex::encode(tsa))
                };
                let others = state
                    .store
                    .register_signing_key(&n.node_id, &identity, crate::cluster::LIVE_WITHIN)
                    .await?;
                if !others.is_empty() {
                    return Err(AppError::ClusterKey(others.join(", ")));
                }
                // Hearings moved here and not restored yet wait for the heartbeat's
                // take-over (`cluster::failover`).
                let pending: std::collections::HashSet<_> = state
                    .store
                    .adoptions(&n.node_id, std::time::Duration::ZERO)
                    .await?
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                Some(
                    state
                        .store
                        .node_hearings(&n.node_id)
                        .await?
                        .into_iter()
                        .filter(|id| !pending.contains(id))
                        .collect(),
                )
            }
            None => None,
        };
        // Hearings that were open (or closed but not sealed) when the server stopped:
        // recover their logs now rather than at the next connection.
        let mut unshipped = Vec::new();
        for h in state.store.list_hearings().await? {
            if mine.as_ref().is_some_and(|m| !m.contains(&h.id)) {
                continue;
            }
            // A rehearsal that closed while the server was down mid-close: its scratch
            // log is deleted now (it is never evidence).
            if h.fields.rehearsal && h.state == crate::domain::HearingState::Closed {
                let dir = state.paths.rehearsal(&h.id);
                if let Err(e) = std::fs::remove_dir_all(dir.dir())
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(error = %e, "cannot delete a rehearsal's scratch log");
                }
                continue;
            }
            let files = state.paths.hearing(&h.id);
            let unsealed = h.state == crate::domain::HearingState::Closed
                && !files.bundle().is_dir()
                && files.log().is_dir();
            if h.state == crate::domain::HearingState::Open || unsealed {
                state.hearings.handle(&h.id);
            }
            // Sealed while the object store was down (or before it was configured):
            // archived now, in the background, one hearing after the other.
            if state.blobs.is_remote()
                && files.bundle_zip().is_file()
                && !crate::blobs::shipped(&state.blobs, &files)
            {
                unshipped.push(files);
            }
        }
        if !unshipped.is_empty() {
            let blobs = state.blobs.clone();
            tokio::spawn(async move {
                for files in unshipped {
                    crate::blobs::ship_and_log(&blobs, &files).await;
                }
            });
        }
        Ok(App {
            state,
            rtc,
            _lock: lock,
        })
    }

    /// On a server with no account yet: a one-time link to create the first judge.
    pub async fn first_start_link(&self) -> Result<Option<String>, AppError> {
        if self.state.store.count_users().await? > 0 {
            return Ok(None);
        }
        Ok(Some(
            crate::http::auth::create_setup_link(&self.state, StaffRole::Judge).await?,
        ))
    }

    /// Serves on `listener` until `shutdown` resolves. Refuses plain HTTP on a
    /// non-loopback address unless `server.dangerous_plain_http` (then warns).
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        self.run_until(listener, async move {
            shutdown.await;
            "shutdown".to_owned()
        })
        .await
    }

    /// Serves until `shutdown` resolves with the reason (`SIGTERM`, ...); then, before
    /// the HTTP server drains, every live hearing is stopped gracefully (sockets closed,
    /// recordings sealed, `server_stopped` logged and checkpointed) within
    /// [`HEARINGS_STOP_WAIT`]; last, the custody log's final checkpoint.
    pub async fn run_until(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = String> + Send + 'static,
    ) -> Result<(), AppError> {
        let state = self.state.clone();
        let shutdown = async move {
            let reason = shutdown.await;
            let running = state.hearings.running_count();
            let stopped = state.hearings.stop_all(&reason, HEARINGS_STOP_WAIT).await;
            tracing::info!(reason = %reason, running, stopped, "hearings stopped");
        };
        let bound = listener.local_addr().map_err(AppError::Serve)?;
        if let Some(warning) = self.state.config.plain_http_check(bound.ip())? {
            tracing::warn!("{warning}");
        }
        let tls = match &self.state.config.tls {
            TlsMode::Off => None,
            mode => Some(tls_config(&self.state.config.data_dir, mode).await?),
        };
        let purge = tokio::spawn(purge_sessions(self.state.clone()));
        let heartbeat = tokio::spawn(crate::cluster::heartbeat(self.state.clone()));
        let ship = tokio::spawn(ship_custody(self.state.clone()));
        let served = crate::http::conn::serve(self.state.clone(), listener, tls, shutdown).await;
        purge.abort();
        heartbeat.abort();
        ship.abort();
        // Open ranged sessions closed, the final custody checkpoint signed.
        let custody = self.state.custody.clone();
        let _ = tokio::task::spawn_blocking(move || custody.shutdown()).await;
        // ... and shipped.
        if let Err(e) = crate::blobs::ship_log(&self.state.blobs, &self.state.paths.custody()).await
        {
            tracing::warn!(error = %e, "custody log not shipped to object storage at stop");
        }
        served.map_err(AppError::Serve)
    }
}

/// At start, one request to the object store: refused credentials or a missing bucket
/// stop the server (a misconfiguration); a store that cannot be reached only warns
/// (recording is local; sealed files are archived when it is back).
async fn check_blobs(blobs: &crate::blobs::Blobs) -> Result<(), AppError> {
    use crate::blobs::BlobError;
    match blobs.check().await {
        Ok(()) => Ok(()),
        Err(e @ (BlobError::Credentials { .. } | BlobError::Settings(_))) => Err(e.into()),
        Err(e) => {
            tracing::warn!(error = %e, "object storage unreachable at start; sealed files are archived when it answers");
            Ok(())
        }
    }
}

/// Ships the custody log's new checkpoints and entries to object storage (append-only
/// segments, `blobs::ship_log`) once a checkpoint covers what it grew by, looking every
/// custody checkpoint interval (at least a second). A failure is logged and retried.
async fn ship_custody(state: Arc<AppState>) {
    if !state.blobs.is_remote() {
        return;
    }
    let every = state
        .config
        .retrieval
        .checkpoint_interval
        .max(Duration::from_secs(1));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen = None;
    // After a failure: wait this long (doubling to a minute) before trying again.
    let mut backoff = Duration::ZERO;
    let mut retry_at = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        let size = state.custody.size();
        if seen == Some(size) || tokio::time::Instant::now() < retry_at {
            continue;
        }
        match crate::blobs::ship_log(&state.blobs, &state.paths.custody()).await {
            // Entries not yet under a checkpoint: looked at again next tick.
            Ok(covered) => {
                backoff = Duration::ZERO;
                if covered >= size {
                    seen = Some(size);
                }
            }
            Err(e) => {
                backoff = (backoff * 2).clamp(every, Duration::from_secs(60));
                retry_at = tokio::time::Instant::now() + backoff;
                tracing::warn!(error = %e, "custody log not shipped to object storage");
            }
        }
    }
}

/// How long a stopping server waits for its hearings to seal their recordings and log
/// why they stopped (a service manager's stop timeout should allow more: systemd's
/// default is 90 s).
pub const HEARINGS_STOP_WAIT: Duration = Duration::from_secs(20);

/// How often expired sign-in sessions are deleted (they are also purged at sign-in).
const SESSION_PURGE_EVERY: Duration = Duration::from_secs(600);

async fn purge_sessions(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(SESSION_PURGE_EVERY);
    loop {
        tick.tick().await;
        match state
            .store
            .purge_expired_sessions(crate::secrets::now_unix())
            .await
        {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired sessions deleted"),
            Err(e) => tracing::warn!(error = %e, "expired sessions not deleted"),
        }
    }
}

async fn tls_config(
    data_dir: &std::path::Path,
    mode: &TlsMode,
) -> Result<axum_server::tls_rustls::RustlsConfig, AppError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (cert, key) = match mode {
        TlsMode::Files { cert, key } => (cert.clone(), key.clone()),
        _ => {
            let dir = data_dir.join("tls");
            let cert = dir.join("self-signed.crt");
            let key = dir.join("self-signed.key");
            if !cert.exists() || !key.exists() {
                std::fs::create_dir_all(&dir).map_err(|e| AppError::Tls(e.to_string()))?;
                let host =
                    std::env::var("SWORN_TLS_HOSTNAME").unwrap_or_else(|_| "localhost".into());
                let made = rcgen::generate_simple_self_signed(vec![
                    host,
                    "localhost".into(),
                    "127.0.0.1".into(),
                ])
                .map_err(|e| AppError::Tls(e.to_string()))?;
                std::fs::write(&cert, made.cert.pem()).map_err(|e| AppError::Tls(e.to_string()))?;
                write_private(&key, made.key_pair.serialize_pem().as_bytes())
                    .map_err(|e| AppError::Tls(e.to_string()))?;
            }
            (cert, key)
        }
    };
    axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .map_err(|e| AppError::Tls(e.to_string()))
}

/// Writes a file readable only by its owner.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn restrict_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}
