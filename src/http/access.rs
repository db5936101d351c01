//! Who may act on which hearing (#12 scenario 12). Every staff request that names a
//! hearing turns its id into a [`HearingRow`] here and nowhere else:
//! [`hearing_for`] checks, in this order,
//!
//! 1. the role: the policy table must grant the action (403 `forbidden` otherwise,
//!    before the hearing is even looked up);
//! 2. the hearing exists (404 `not_found`);
//! 3. the hearing is this account's to act on:
//!    - retrieval by a prosecutor or defence account ([`Action::RetrieveGranted`]): an
//!      active grant (403 `forbidden` otherwise, as before courts existed);
//!    - everything else (viewing, scheduling, participants, moderation, the console
//!      socket, grants): the hearing belongs to the account's own court. A hearing of
//!      another court answers 404 `not_found`, exactly like one that does not exist, so
//!      its existence is not revealed.
//!
//! The hearing lookup itself ([`load_hearing`]) is private to this module: a new route
//! cannot get a hearing without saying which action it performs.

use super::AppState;
use super::auth::Staff;
use super::error::ApiError;
use crate::domain::{Action, HearingId};
use crate::secrets::now_unix;
use crate::store::HearingRow;

/// The hearing `id` if `staff` may perform `action` on it (see the module doc).
pub(super) async fn hearing_for(
    state: &AppState,
    staff: &Staff,
    id: &str,
    action: Action,
) -> Result<HearingRow, ApiError> {
    staff.require(action)?;
    let h = load_hearing(state, id).await?;
    match action {
        Action::RetrieveGranted => {
            if state
                .store
                .active_grant(&h.id, &staff.user.id, now_unix())
                .await?
                .is_none()
            {
                tracing::info!(hearing = %h.id, "retrieval without a grant refused");
                return Err(ApiError::Forbidden);
            }
        }
        _ => {
            if h.court_id != staff.user.court_id {
                tracing::info!(hearing = %h.id, action = ?action, "hearing of another court refused");
                return Err(ApiError::NotFound);
            }
        }
    }
    Ok(h)
}

/// The hearing row again, after a change (the caller already passed [`hearing_for`]).
pub(super) async fn reload(state: &AppState, h: &HearingRow) -> Result<HearingRow, ApiError> {
    state.store.hearing(&h.id).await?.ok_or(ApiError::NotFound)
}

async fn load_hearing(state: &AppState, id: &str) -> Result<HearingRow, ApiError> {
    let id = HearingId::parse(id).ok_or(ApiError::NotFound)?;
    state.store.hearing(&id).await?.ok_or(ApiError::NotFound)
}
