//! Staff sign-in: argon2 password hashes, session cookies (HttpOnly, SameSite=Strict;
//! on HTTPS Secure and named `__Host-sworn_session`), CSRF tokens for
//! cookie-authenticated writes, password changes. Every password hash runs behind the
//! sign-in throttle (`throttle.rs`), whose limits are checked first.

use super::AppState;
use super::error::{ApiError, JsonBody};
use super::guard::ClientAddr;
use super::throttle::{ClientKey, HashRefused, Refusal};
use crate::config::Config;
use crate::domain::{Action, CourtId, StaffRole, Subject, UserId, allows};
use crate::secrets::{hash_token, new_id, new_token, now_unix, token_shape_ok};
use crate::store::UserRow;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// The session cookie over plain HTTP (loopback, or a proxy that is not HTTPS).
pub const SESSION_COOKIE: &str = "sworn_session";
/// The session cookie over HTTPS: the `__Host-` prefix makes browsers refuse it unless
/// it is Secure, for `Path=/` and without `Domain` (no sibling host can set or shadow it).
pub const SESSION_COOKIE_HTTPS: &str = "__Host-sworn_session";
const SESSION_TTL: i64 = 12 * 3600;

/// The session cookie's name for this server.
pub fn session_cookie_name(config: &Config) -> &'static str {
    if config.https() {
        SESSION_COOKIE_HTTPS
    } else {
        SESSION_COOKIE
    }
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| HashError)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Checks a new password's strength (length only: passphrases are welcome).
pub fn password_acceptable(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if !(12..=256).contains(&n) {
        return Err(ApiError::BadRequest(
            "the password must be 12 to 256 characters".into(),
        ));
    }
    Ok(())
}

pub fn username_acceptable(username: &str) -> Result<(), ApiError> {
    let ok = (3..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "the username must be 3 to 64 letters, digits or . _ - @".into(),
        ))
    }
}

/// A signed-in staff member (checked cookie, and CSRF on writes).
#[derive(Clone, Debug)]
pub struct Staff {
    pub user: UserRow,
    pub csrf: String,
    /// Hash of the session token: a long-lived console socket re-checks the session.
    pub session_hash: String,
}

impl Staff {
    /// Refuses with 403 unless the staff policy grants `action`.
    /// True when the account's role grants `action` (no log line: see [`Self::require`]).
    pub fn allows(&self, action: Action) -> bool {
        allows(Subject::Staff(self.user.role), action)
    }

    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        if allows(Subject::Staff(self.user.role), action) {
            Ok(())
        } else {
            tracing::info!(role = self.user.role.as_str(), action = ?action, "denied");
            Err(ApiError::Forbidden)
        }
    }
}

pub(crate) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<Arc<AppState>> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie_value(&parts.headers, session_cookie_name(&state.config))
            .filter(|t| token_shape_ok(t))
            .ok_or(ApiError::Unauthorized)?;
        let session_hash = hash_token(token);
        let session = state
            .store
            .session(&session_hash, now_unix())
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            if sent != Some(session.csrf.as_str()) {
                return Err(ApiError::Csrf);
            }
        }
        Ok(Staff {
            user: session.user,
            csrf: session.csrf,
            session_hash,
        })
    }
}

/// Checks the sign-in limits for an attempt from `addr` (naming `username`, if any),
/// before anything is hashed.
fn throttled(state: &AppState, addr: ClientKey, username: Option<&str>) -> Result<(), ApiError> {
    match state.sign_in.attempt(addr, username, Instant::now()) {
        Ok(()) => Ok(()),
        Err(refusal) => {
            let limit = match refusal {
                Refusal::Address => "address",
                Refusal::UserAtAddress => "username at address",
                Refusal::Global => "global",
                Refusal::Busy => "busy",
            };
            tracing::info!(limit, "sign-in attempt refused by rate limit");
            Err(ApiError::RateLimited)
        }
    }
}

/// Runs a password hash behind the throttle's permits.
async fn hashing<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    state.sign_in.hash(work).await.map_err(|e| match e {
        HashRefused::Busy => ApiError::RateLimited,
        other => ApiError::Internal(other.to_string()),
    })
}

fn user_json(u: &UserRow) -> serde_json::Value {
    json!({"id": u.id, "username": u.username, "role": u.role, "court_id": u.court_id})
}

fn session_cookie(state: &AppState, token: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.https() { "; Secure" } else { "" };
    let name = session_cookie_name(&state.config);
    let v = format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    // invariant: the token is base64url and the rest is ASCII, always a valid header value.
    HeaderValue::from_str(&v)
        .unwrap_or_else(|_| HeaderValue::from_static("sworn_session=; Max-Age=0"))
}

async fn start_session(state: &AppState, user: &UserRow) -> Result<Response, ApiError> {
    let token = new_token();
    let csrf = new_token();
    state
        .store
        .create_session(
            &hash_token(&token),
            &user.id,
            &csrf,
            now_unix() + SESSION_TTL,
        )
        .await?;
    let mut resp = Json(json!({"user": user_json(user), "csrf": csrf})).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(state, &token, SESSION_TTL),
    );
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: String,
}

pub async fn login(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, ApiError> {
    if body.username.len() > 64 || body.password.len() > 1024 {
        return Err(ApiError::Unauthorized);
    }
    throttled(&state, addr, Some(&body.username))?;
    let user = state.store.user_by_name(&body.username).await?;
    // Argon2 costs tens of milliseconds of CPU: on a blocking thread, so the runtime's
    // threads (which also carry the media) never stall on a sign-in.
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = body.password;
    let ok = hashing(&state, move || match hash {
        Some(h) => verify_password(&password, &h),
        None => {
            // Same work either way, so timing does not reveal which usernames exist.
            let dummy =
                DUMMY_HASH.get_or_init(|| hash_password("not a real password").unwrap_or_default());
            let _ = verify_password(&password, dummy);
            false
        }
    })
    .await?;
    match user {
        Some(u) if ok => {
            tracing::info!(user = %u.id, "signed in");
            state.sign_in.succeeded(addr, &u.username, Instant::now());
            let purged = state.store.purge_expired_sessions(now_unix()).await?;
            if purged > 0 {
                tracing::info!(purged, "expired sessions deleted");
            }
            start_session(&state, &u).await
        }
        _ => {
            tracing::info!("sign-in refused");
            Err(ApiError::Unauthorized)
        }
    }
}

/// A real argon2 hash, verified against when the user does not exist.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    staff: Staff,
) -> Result<Response, ApiError> {
    if let Some(token) = cookie_value(&headers, session_cookie_name(&state.config)) {
        state.store.delete_session(&hash_token(token)).await?;
    }
    tracing::info!(user = %staff.user.id, "signed out");
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(resp)
}

/// `GET /api/me`: the account, its court's name and the CSRF token.
pub async fn me(
    State(state): State<Arc<AppState>>,
    staff: Staff,
) -> Result<Json<serde_json::Value>, ApiError> {
    let court = state
        .store
        .court(&staff.user.court_id)
        .await?
        .map(|c| c.name);
    let mut user = user_json(&staff.user);
    if let Some(obj) = user.as_object_mut() {
        obj.insert("court".into(), json!(court));
    }
    Ok(Json(json!({"user": user, "csrf": staff.csrf})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// `POST /api/me/password`: the signed-in user changes their password (current one
/// required); every other session of theirs ends.
pub async fn change_password(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    staff: Staff,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if body.current_password.len() > 1024 {
        return Err(ApiError::WrongPassword);
    }
    password_acceptable(&body.new_password)?;
    throttled(&state, addr, Some(&staff.user.username))?;
    let current = staff.user.password_hash.clone();
    let (old, new) = (body.current_password, body.new_password);
    let hashed = hashing(&state, move || {
        verify_password(&old, &current).then(|| hash_password(&new))
    })
    .await?;
    let hash = match hashed {
        None => {
            tracing::info!(user = %staff.user.id, "password change refused: wrong current password");
            return Err(ApiError::WrongPassword);
        }
        Some(h) => h.map_err(|e| ApiError::Internal(e.to_string()))?,
    };
    let keep = cookie_value(&headers, session_cookie_name(&state.config))
        .map(hash_token)
        .unwrap_or_default();
    let ended = state
        .store
        .change_password(&staff.user.id, &hash, &keep)
        .await?;
    tracing::info!(user = %staff.user.id, ended, "password changed, other sessions ended");
    Ok(Json(json!({"other_sessions_ended": ended})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupBody {
    token: String,
    username: String,
    password: String,
}

/// Creates the first judge account from the one-time link printed at first start.
pub async fn setup(
    State(state): State<Arc<AppState>>,
    ClientAddr(addr): ClientAddr,
    JsonBody(body): JsonBody<SetupBody>,
) -> Result<Response, ApiError> {
    throttled(&state, addr, None)?;
    // Everything cheap first: nothing is hashed for a request that cannot succeed.
    if !token_shape_ok(&body.token)
        || !state
            .store
            .setup_token_valid(&hash_token(&body.token), now_unix())
            .await?
    {
        return Err(ApiError::InviteInvalid);
    }
    username_acceptable(&body.username)?;
    password_acceptable(&body.password)?;
    if state.store.user_by_name(&body.username).await?.is_some() {
        return Err(ApiError::Conflict("that username is taken".into()));
    }
    let password = body.password.clone();
    let hash = hashing(&state, move || hash_password(&password))
        .await?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let grant = state
        .store
        .consume_setup_token(&hash_token(&body.token), now_unix())
        .await?
        .ok_or(ApiError::InviteInvalid)?;
    let role = grant.role;
    let user = UserRow {
        id: UserId::from_trusted(new_id()),
        username: body.username,
        role,
        password_hash: hash,
        court_id: grant.court_id,
    };
    state
        .store
        .create_user(
            &user.id,
            &user.username,
            user.role,
            &user.password_hash,
            &user.court_id,
            now_unix(),
        )
        .await?;
    tracing::info!(user = %user.id, role = role.as_str(), "first account created");
    start_session(&state, &user).await
}

/// Creates a one-time setup link for a first account with `role` in the default court
/// (the first judge of a new server).
pub async fn create_setup_link(
    state: &AppState,
    role: StaffRole,
) -> Result<String, crate::store::StoreError> {
    create_setup_link_in(state, role, &CourtId::default_court()).await
}

/// Creates a one-time setup link for an account with `role` in `court`: the account it
/// creates belongs to that court.
pub async fn create_setup_link_in(
    state: &AppState,
    role: StaffRole,
    court: &CourtId,
) -> Result<String, crate::store::StoreError> {
    let token = new_token();
    state
        .store
        .create_setup_token(&hash_token(&token), role, court, now_unix() + 24 * 3600)
        .await?;
    Ok(format!("{}/setup/{}", state.config.public_url, token))
}
