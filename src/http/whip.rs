//! WHIP ingest (RFC 9725): `POST /whip` with an invite token as bearer and an SDP offer;
//! the answer carries all candidates. `DELETE /whip/<session>` ends it.

use super::AppState;
use super::error::ApiError;
use super::join::resolve_invite;
use crate::domain::HearingId;
use crate::hearing::ConnId;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

const MAX_SDP: usize = 64 * 1024;

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)
}

/// WHIP resources: session id -> (hearing, connection, token hash). A POST may not take
/// over a participant who is connected, bound to a browser device, or refused by the
/// court (docs/protocol.md); nothing it sends is recorded or forwarded before admission.
#[derive(Default)]
pub struct WhipSessions {
    inner: std::sync::Mutex<std::collections::HashMap<String, (HearingId, ConnId, String)>>,
}

impl WhipSessions {
    fn remove(&self, id: &str) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Live WHIP resources (for tests and the console).
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let token = bearer(&headers)?;
    let (participant, hearing) = resolve_invite(&state, token).await.map_err(|e| match e {
        ApiError::InviteInvalid => ApiError::Unauthorized,
        other => other,
    })?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/sdp") {
        return Err(ApiError::BadRequest(
            "content type must be application/sdp".into(),
        ));
    }
    if body.len() > MAX_SDP {
        return Err(ApiError::TooLarge);
    }
    let sdp = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::BadRequest("the offer is not UTF-8".into()))?;
    if !sdp.starts_with("v=0") {
        return Err(ApiError::BadRequest("the body is not an SDP offer".into()));
    }
    let handle = state.hearings.handle(&hearing.id);
    let (conn, answer, ended) = handle
        .whip_offer(participant, sdp)
        .await
        .map_err(|e| match e {
            crate::hearing::HearingError::Media(_) => {
                ApiError::BadRequest("the offer was rejected".into())
            }
            other => other.into(),
        })?;
    // On a cluster node the resource names its node (`node.id`), so a DELETE reaching
    // another node is forwarded here (`cluster::route`).
    let id = match &state.cluster {
        Some(c) => format!("{}.{}", c.config.node_id, crate::secrets::new_id()),
        None => crate::secrets::new_id(),
    };
    let token_hash = crate::secrets::hash_token(token);
    state
        .whip
        .inner
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone(), (hearing.id, conn, token_hash));
    // The resource ends with its connection (failed, replaced, removed, closed), not
    // only on DELETE.
    let owner = state.clone();
    let session = id.clone();
    tokio::spawn(async move {
        let _ = ended.await;
        owner.whip.remove(&session);
    });
    Ok((
        StatusCode::CREATED,
        [
            (header::CONTENT_TYPE, "application/sdp".to_owned()),
            (header::LOCATION, format!("/whip/{id}")),
        ],
        answer,
    )
        .into_response())
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let token = bearer(&headers)?;
    let hash = crate::secrets::hash_token(token);
    let entry = {
        let mut map = state.whip.inner.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&id) {
            Some((_, _, h)) if *h == hash => map.remove(&id),
            Some(_) => return Err(ApiError::Forbidden),
            None => None,
        }
    };
    let (hearing, conn, _) = entry.ok_or(ApiError::NotFound)?;
    if let Some(h) = state.hearings.running(&hearing) {
        h.whip_end(conn).await;
    }
    Ok(StatusCode::OK)
}
