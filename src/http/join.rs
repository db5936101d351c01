//! Invite links: resolving a token to its participant, the join page and its API.
//! Every failure names why (invalid, expired, revoked, hearing ended) without saying
//! anything about other hearings.

use super::AppState;
use super::error::ApiError;
use super::pages;
use crate::domain::HearingState;
use crate::secrets::{hash_token, now_unix, token_shape_ok};
use crate::store::{HearingRow, ParticipantRow};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// The participant and hearing an invite token grants, if it is valid now.
pub async fn resolve_invite(
    state: &AppState,
    token: &str,
) -> Result<(ParticipantRow, HearingRow), ApiError> {
    if !token_shape_ok(token) {
        return Err(ApiError::InviteInvalid);
    }
    let p = state
        .store
        .participant_by_token(&hash_token(token))
        .await?
        .ok_or(ApiError::InviteInvalid)?;
    if p.revoked {
        return Err(ApiError::InviteRevoked);
    }
    if p.token_expires_at.is_some_and(|e| e <= now_unix()) {
        return Err(ApiError::InviteExpired);
    }
    let h = state
        .store
        .hearing(&p.hearing_id)
        .await?
        .ok_or(ApiError::InviteInvalid)?;
    if h.state == HearingState::Closed {
        return Err(ApiError::HearingClosed);
    }
    Ok((p, h))
}

/// `GET /join/<token>`: the join page, or a page that says why the link does not work.
pub async fn page(State(state): State<Arc<AppState>>, Path(token): Path<String>) -> Response {
    match resolve_invite(&state, &token).await {
        Ok(_) => pages::page("join.html").into_response(),
        Err(e) => pages::error_page(&e).into_response(),
    }
}

/// `GET /api/join/<token>`
pub async fn info(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (p, h) = resolve_invite(&state, &token).await?;
    let mut hearing = json!({
        "id": h.id,
        "case_ref": h.fields.case_ref,
        "language": h.fields.language,
        "state": h.state,
        "requesting_state": h.fields.requesting_state,
        "requested_state": h.fields.requested_state,
        "scheduled_at": h.fields.scheduled_at,
        "rehearsal": h.fields.rehearsal,
    });
    if let Some(obj) = hearing.as_object_mut() {
        for (k, v) in super::hearings::request_json(&h.fields) {
            obj.insert(k.into(), v);
        }
    }
    Ok(Json(json!({
        "hearing": hearing,
        "participant": {"id": p.id, "display_name": p.display_name, "role": p.role, "language": p.language},
        "ice_servers": state.config.ice_servers_now(),
    })))
}
