//! One API error type with stable codes. 5xx answers say little; the cause is logged
//! once, without personal data.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("sign in first")]
    Unauthorized,
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("missing or wrong CSRF token")]
    Csrf,
    #[error("this invitation is bound to the browser that first opened it")]
    DeviceBound,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts, wait a minute")]
    RateLimited,
    #[error("retrieval quota exceeded, try again later")]
    QuotaExceeded,
    #[error("this invitation link is not valid")]
    InviteInvalid,
    #[error("this invitation link has expired")]
    InviteExpired,
    #[error("this invitation link was revoked")]
    InviteRevoked,
    #[error("this hearing has ended")]
    HearingClosed,
    #[error("request too large")]
    TooLarge,
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("this request did not come from this server's own pages")]
    OriginMismatch,
    #[error("the request took too long to arrive")]
    RequestTimeout,
    #[error("the requested range is not in the file")]
    RangeNotSatisfiable,
    /// A State field that is not an assigned ISO 3166-1 alpha-2 code (names the field).
    #[error("{0} must be an ISO 3166-1 alpha-2 country code such as FR")]
    UnknownCountry(&'static str),
    /// A rehearsal keeps no record: there is nothing to retrieve or grant.
    #[error("this was a rehearsal: it is not evidence and keeps no record")]
    Rehearsal,
    /// The media node running this hearing is down or unreachable (a cluster).
    #[error("the media node running this hearing cannot be reached: try again shortly")]
    NodeUnavailable,
    /// A request signed as from another node of the cluster whose signature is wrong.
    #[error("the cluster signature of this request is not valid")]
    ClusterAuth,
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::InviteInvalid => StatusCode::NOT_FOUND,
            Self::Forbidden
            | Self::Csrf
            | Self::DeviceBound
            | Self::OriginMismatch
            | Self::WrongPassword
            | Self::ClusterAuth => StatusCode::FORBIDDEN,
            Self::NodeUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RateLimited | Self::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            Self::InviteExpired | Self::InviteRevoked | Self::HearingClosed => StatusCode::GONE,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::UnknownCountry(_) => StatusCode::BAD_REQUEST,
            Self::Rehearsal => StatusCode::CONFLICT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Csrf => "csrf",
            Self::DeviceBound => "device_bound",
            Self::NotFound => "not_found",
            Self::Conflict(_) => "conflict",
            Self::RateLimited => "rate_limited",
            Self::QuotaExceeded => "quota_exceeded",
            Self::InviteInvalid => "invite_invalid",
            Self::InviteExpired => "invite_expired",
            Self::InviteRevoked => "invite_revoked",
            Self::HearingClosed => "hearing_closed",
            Self::TooLarge => "too_large",
            Self::OriginMismatch => "origin_mismatch",
            Self::WrongPassword => "wrong_password",
            Self::RequestTimeout => "request_timeout",
            Self::RangeNotSatisfiable => "range_not_satisfiable",
            Self::UnknownCountry(_) => "unknown_country",
            Self::Rehearsal => "rehearsal_not_evidence",
            Self::NodeUnavailable => "node_unavailable",
            Self::ClusterAuth => "cluster_auth",
            Self::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(cause = %cause, "internal error");
        }
        let body = json!({"error": {"code": self.code(), "message": self.to_string()}});
        (self.status(), Json(body)).into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NotFound => Self::NotFound,
            crate::store::StoreError::Conflict => Self::Conflict("already exists".into()),
            crate::store::StoreError::NoLiveNode => Self::NodeUnavailable,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<crate::hearing::HearingError> for ApiError {
    fn from(e: crate::hearing::HearingError) -> Self {
        use crate::hearing::HearingError as H;
        match e {
            H::Forbidden => Self::Forbidden,
            H::UnknownParticipant => Self::NotFound,
            H::Closed => Self::Conflict("the hearing has ended".into()),
            H::DeviceBound => Self::DeviceBound,
            H::NoOtherDevice => Self::Conflict("no other device is waiting".into()),
            H::Busy => Self::Conflict("the participant is connected from another device".into()),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// JSON body extractor errors become `bad_request` with serde's message (which names
/// fields, not values).
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => {
                let text = rejection.body_text();
                let short: String = text
                    .split(" at line")
                    .next()
                    .unwrap_or("invalid body")
                    .chars()
                    .take(200)
                    .collect();
                Err(ApiError::BadRequest(short))
            }
        }
    }
}
