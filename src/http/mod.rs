//! HTTP: the JSON API, WebSocket signalling, WHIP, pages. `router(state)` builds
//! everything so tests drive it with `oneshot` or a real listener.
//!
//! Owns: request parsing and authentication at the boundary. Must never: log a token,
//! password, participant name or client address; answer bad input with a 5xx.

mod access;
pub mod auth;
pub mod conn;
pub mod error;
mod export;
pub mod guard;
mod hearings;
mod join;
pub mod pages;
mod portal;
pub mod quota;
pub mod throttle;
mod whip;
mod ws;

use crate::config::Config;
use crate::hearing::Hearings;
use crate::store::Store;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{delete, get, post};
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

/// Shared server state.
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub hearings: Arc<Hearings>,
    pub key: Arc<crate::evidence::ServerKey>,
    pub custody: Arc<crate::custody::Custody>,
    pub tsa: Arc<crate::evidence::tsa::TimeStamper>,
    pub sign_in: throttle::SignInThrottle,
    pub whip: whip::WhipSessions,
    /// Quotas, reusable exports, report counter.
    pub retrieval: quota::Retrieval,
    /// `[cluster]`: this server is one node of several (`None`: the only one).
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// The data directory's layout.
    pub paths: crate::paths::DataPaths,
    /// Where sealed files are archived; read from when a local copy is gone.
    pub blobs: Arc<crate::blobs::Blobs>,
}

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The Content-Security-Policy: scripts, styles and connections to this server only
/// (`connect-src` names its own WebSocket origin, derived from `public_url`).
fn csp(config: &Config) -> HeaderValue {
    let origin = config.public_origin();
    let ws = match origin.strip_prefix("https://") {
        Some(rest) => format!("wss://{rest}"),
        None => format!("ws://{}", origin.trim_start_matches("http://")),
    };
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         media-src 'self' blob: mediastream:; connect-src 'self' {ws}; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'self'"
    );
    // invariant: public_url was validated as an http(s) URL; a stray byte that cannot be
    // in a header falls back to the policy without the WebSocket origin (no connections
    // but same-origin ones).
    HeaderValue::from_str(&policy).unwrap_or_else(|_| {
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        )
    })
}

/// The server's public signing key and the TSA chain, for verifiers to pin.
async fn server_key(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "name": state.key.name(),
        "fingerprint": state.key.fingerprint(),
        "public_key_pem": state.key.public_pem(),
        "vkey": state.key.vkey(),
        "tsa_chain_pem": state.tsa.chain_pem(),
        "key_history": "/.well-known/sworn/key-history.json",
        "keys_in_history": state.key.history().map_or(1, |h| h.parsed.keys.len()),
    }))
}

/// The server key history (`sworn-key-history/1`, docs/bundle-format.md §12): every key
/// this server has signed with, each signed by its predecessor. Verifiers pin it with
/// `sworn verify --trust key-history.json`.
async fn key_history(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match state.key.history() {
        Some(h) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            h.bytes.clone(),
        )
            .into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/api/setup", post(auth::setup))
        .route("/api/login", post(auth::login))
        .route("/api/logout", post(auth::logout))
        .route("/api/me", get(auth::me))
        .route("/api/me/password", post(auth::change_password))
        .route("/api/hearings", post(hearings::create).get(hearings::list))
        .route("/api/hearings/{id}", get(hearings::get))
        .route("/api/countries", get(hearings::countries))
        .route("/api/hearings/{id}/open", post(hearings::open))
        .route("/api/hearings/{id}/close", post(hearings::close))
        .route(
            "/api/hearings/{id}/participants",
            post(hearings::add_participant),
        )
        .route(
            "/api/hearings/{id}/participants/{pid}/invite",
            post(hearings::reissue),
        )
        .route(
            "/api/hearings/{id}/participants/{pid}/revoke",
            post(hearings::revoke),
        )
        .route(
            "/api/hearings/{id}/participants/{pid}/{action}",
            post(hearings::moderate),
        )
        .route(
            "/api/hearings/{id}/grants",
            post(portal::grant).get(portal::grants),
        )
        .route(
            "/api/hearings/{id}/grants/{gid}/revoke",
            post(portal::revoke_grant),
        )
        .route("/api/portal/hearings", get(portal::my_hearings))
        .route("/api/portal/hearings/{id}", get(portal::open_hearing))
        .route("/api/portal/hearings/{id}/minutes", get(portal::minutes))
        .route(
            "/api/portal/hearings/{id}/quality.svg",
            get(portal::quality),
        )
        .route("/api/portal/hearings/{id}/bundle.zip", get(export::create))
        .route(
            "/api/portal/hearings/{id}/exports/{file}",
            get(export::serve),
        )
        .route("/api/portal/hearings/{id}/files/{*path}", get(portal::file))
        .route("/api/join/{token}", get(join::info))
        .route("/.well-known/sworn/server-key", get(server_key))
        .route("/.well-known/sworn/key-history.json", get(key_history))
        .route("/ws/join/{token}", get(ws::join))
        .route("/ws/hearings/{id}", get(ws::console))
        .route("/whip", post(whip::create))
        .route("/whip/{id}", delete(whip::delete));
    let pages = Router::new()
        .route("/", get(|| async { pages::page("index.html") }))
        .route("/signin", get(|| async { pages::page("signin.html") }))
        .route(
            "/setup/{token}",
            get(|| async { pages::page("setup.html") }),
        )
        .route("/console", get(|| async { pages::page("console.html") }))
        .route(
            "/console/hearings/{id}",
            get(|| async { pages::page("hearing.html") }),
        )
        .route("/portal", get(|| async { pages::page("portal.html") }))
        .route(
            "/portal/hearings/{id}",
            get(|| async { pages::page("portal-hearing.html") }),
        )
        .route("/verify", get(|| async { pages::page("verify.html") }))
        .route("/join/{token}", get(join::page))
        .route("/static/{*path}", get(pages::static_file));
    let https = state.config.https();
    let mut router = api
        .merge(pages)
        .fallback(|| async { error::ApiError::NotFound })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::body_deadline,
        ))
        .layer(axum::middleware::from_fn(guard::no_store))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            csp(&state.config),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(self), microphone=(self), geolocation=()"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ));
    if https {
        router = router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    if state.cluster.is_some() {
        // Outermost: a request about a hearing on another node goes there as it came.
        router = router.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::cluster::route::route,
        ));
    }
    router.with_state(state)
}
