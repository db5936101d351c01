//! The store's API: one async method per query, dispatched to the backend. SQLite
//! calls take owned copies of their arguments to the blocking pool.

use super::{
    Backend, CourtRow, GrantRow, HearingRow, NewHearing, ParticipantRow, SessionRow, SetupGrant,
    Store, StoreError, UserRow,
};
use crate::domain::{
    CourtId, HearingId, HearingState, ParticipantId, ParticipantRole, StaffRole, UserId,
};

impl Store {
    pub async fn court_by_name(&self, name: &str) -> Result<Option<CourtRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let name = name.to_owned();
                s.run(move |db| db.court_by_name(&name)).await
            }
            Backend::Postgres(p) => p.court_by_name(name).await,
        }
    }

    pub async fn court(&self, id: &CourtId) -> Result<Option<CourtRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                s.run(move |db| db.court(&id)).await
            }
            Backend::Postgres(p) => p.court(id).await,
        }
    }

    /// The court named `name`, created if new; the bool says whether it was created.
    pub async fn ensure_court(&self, name: &str, now: i64) -> Result<(CourtRow, bool), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let name = name.to_owned();
                s.run(move |db| db.ensure_court(&name, now)).await
            }
            Backend::Postgres(p) => p.ensure_court(name, now).await,
        }
    }

    pub async fn list_courts(&self) -> Result<Vec<CourtRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.run(move |db| db.list_courts()).await,
            Backend::Postgres(p) => p.list_courts().await,
        }
    }

    /// Renames a court (its accounts and hearings stay with it).
    pub async fn rename_court(&self, from: &str, to: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let from = from.to_owned();
                let to = to.to_owned();
                s.run(move |db| db.rename_court(&from, &to)).await
            }
            Backend::Postgres(p) => p.rename_court(from, to).await,
        }
    }

    /// Creates an account in `court` (which must exist: refused with `NotFound` otherwise).
    pub async fn create_user(
        &self,
        id: &UserId,
        username: &str,
        role: StaffRole,
        password_hash: &str,
        court: &CourtId,
        now: i64,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                let username = username.to_owned();
                let password_hash = password_hash.to_owned();
                let court = court.clone();
                s.run(move |db| db.create_user(&id, &username, role, &password_hash, &court, now))
                    .await
            }
            Backend::Postgres(p) => {
                p.create_user(id, username, role, password_hash, court, now)
                    .await
            }
        }
    }

    /// Sets a new password and ends every session of that account (the CLI's
    /// `user passwd`: whoever knew the old password is signed out).
    pub async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let username = username.to_owned();
                let password_hash = password_hash.to_owned();
                s.run(move |db| db.set_password(&username, &password_hash))
                    .await
            }
            Backend::Postgres(p) => p.set_password(username, password_hash).await,
        }
    }

    /// Disables (or enables again) an account. Disabling ends its sessions at once
    /// (they are refused anyway: every session lookup checks the account).
    pub async fn set_disabled(&self, username: &str, disabled: bool) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let username = username.to_owned();
                s.run(move |db| db.set_disabled(&username, disabled)).await
            }
            Backend::Postgres(p) => p.set_disabled(username, disabled).await,
        }
    }

    /// Whether the account named `username` is disabled (`None`: no such account).
    pub async fn user_disabled(&self, username: &str) -> Result<Option<bool>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let username = username.to_owned();
                s.run(move |db| db.user_disabled(&username)).await
            }
            Backend::Postgres(p) => p.user_disabled(username).await,
        }
    }

    /// Sets a user's password hash and ends every session of theirs but `keep` (the
    /// token hash of the session that asked); returns how many sessions ended.
    pub async fn change_password(
        &self,
        user: &UserId,
        password_hash: &str,
        keep: &str,
    ) -> Result<usize, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let user = user.clone();
                let password_hash = password_hash.to_owned();
                let keep = keep.to_owned();
                s.run(move |db| db.change_password(&user, &password_hash, &keep))
                    .await
            }
            Backend::Postgres(p) => p.change_password(user, password_hash, keep).await,
        }
    }

    /// Deletes sessions that expired before `now`; returns how many.
    pub async fn purge_expired_sessions(&self, now: i64) -> Result<usize, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.run(move |db| db.purge_expired_sessions(now)).await,
            Backend::Postgres(p) => p.purge_expired_sessions(now).await,
        }
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let username = username.to_owned();
                s.run(move |db| db.user_by_name(&username)).await
            }
            Backend::Postgres(p) => p.user_by_name(username).await,
        }
    }

    pub async fn user(&self, id: &UserId) -> Result<Option<UserRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                s.run(move |db| db.user(&id)).await
            }
            Backend::Postgres(p) => p.user(id).await,
        }
    }

    pub async fn list_users(&self) -> Result<Vec<UserRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.run(move |db| db.list_users()).await,
            Backend::Postgres(p) => p.list_users().await,
        }
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.run(move |db| db.count_users()).await,
            Backend::Postgres(p) => p.count_users().await,
        }
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user: &UserId,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let token_hash = token_hash.to_owned();
                let user = user.clone();
                let csrf = csrf.to_owned();
                s.run(move |db| db.create_session(&token_hash, &user, &csrf, expires_at))
                    .await
            }
            Backend::Postgres(p) => p.create_session(token_hash, user, csrf, expires_at).await,
        }
    }

    /// The session for a token hash, if it exists and has not expired at `now`.
    pub async fn session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let token_hash = token_hash.to_owned();
                s.run(move |db| db.session(&token_hash, now)).await
            }
            Backend::Postgres(p) => p.session(token_hash, now).await,
        }
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let token_hash = token_hash.to_owned();
                s.run(move |db| db.delete_session(&token_hash)).await
            }
            Backend::Postgres(p) => p.delete_session(token_hash).await,
        }
    }

    /// A one-time link that creates an account with `role` in `court`.
    pub async fn create_setup_token(
        &self,
        token_hash: &str,
        role: StaffRole,
        court: &CourtId,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let token_hash = token_hash.to_owned();
                let court = court.clone();
                s.run(move |db| db.create_setup_token(&token_hash, role, &court, expires_at))
                    .await
            }
            Backend::Postgres(p) => {
                p.create_setup_token(token_hash, role, court, expires_at)
                    .await
            }
        }
    }

    /// Marks a setup token used; returns its role and court if it was valid and unused
    /// at `now`.
    pub async fn consume_setup_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<SetupGrant>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let token_hash = token_hash.to_owned();
                s.run(move |db| db.consume_setup_token(&token_hash, now))
                    .await
            }
            Backend::Postgres(p) => p.consume_setup_token(token_hash, now).await,
        }
    }

    pub async fn setup_token_valid(&self, token_hash: &str, now: i64) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let token_hash = token_hash.to_owned();
                s.run(move |db| db.setup_token_valid(&token_hash, now))
                    .await
            }
            Backend::Postgres(p) => p.setup_token_valid(token_hash, now).await,
        }
    }

    /// Creates a hearing in its creator's court (read from the account row, so the
    /// two cannot disagree); `NotFound` if there is no such account.
    pub async fn create_hearing(
        &self,
        id: &HearingId,
        h: &NewHearing,
        by: &UserId,
        now: i64,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                let h = h.clone();
                let by = by.clone();
                s.run(move |db| db.create_hearing(&id, &h, &by, now)).await
            }
            Backend::Postgres(p) => p.create_hearing(id, h, by, now).await,
        }
    }

    pub async fn hearing(&self, id: &HearingId) -> Result<Option<HearingRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                s.run(move |db| db.hearing(&id)).await
            }
            Backend::Postgres(p) => p.hearing(id).await,
        }
    }

    /// The hearings of one court, newest first.
    pub async fn list_court_hearings(
        &self,
        court: &CourtId,
    ) -> Result<Vec<HearingRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let court = court.clone();
                s.run(move |db| db.list_court_hearings(&court)).await
            }
            Backend::Postgres(p) => p.list_court_hearings(court).await,
        }
    }

    /// Every hearing of every court (start-up recovery; never an answer to a request).
    pub async fn list_hearings(&self) -> Result<Vec<HearingRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => s.run(move |db| db.list_hearings()).await,
            Backend::Postgres(p) => p.list_hearings().await,
        }
    }

    /// Moves a hearing to `state`, stamping the time; only forward moves succeed.
    pub async fn set_hearing_state(
        &self,
        id: &HearingId,
        state: HearingState,
        now: i64,
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                s.run(move |db| db.set_hearing_state(&id, state, now)).await
            }
            Backend::Postgres(p) => p.set_hearing_state(id, state, now).await,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_participant(
        &self,
        id: &ParticipantId,
        hearing: &HearingId,
        display_name: &str,
        role: ParticipantRole,
        user: Option<&UserId>,
        token_hash: Option<&str>,
        token_expires_at: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                let hearing = hearing.clone();
                let display_name = display_name.to_owned();
                let user = user.cloned();
                let token_hash = token_hash.map(str::to_owned);
                s.run(move |db| {
                    db.create_participant(
                        &id,
                        &hearing,
                        &display_name,
                        role,
                        user.as_ref(),
                        token_hash.as_deref(),
                        token_expires_at,
                        now,
                    )
                })
                .await
            }
            Backend::Postgres(p) => {
                p.create_participant(
                    id,
                    hearing,
                    display_name,
                    role,
                    user,
                    token_hash,
                    token_expires_at,
                    now,
                )
                .await
            }
        }
    }

    /// Sets the language a participant's pages open in.
    pub async fn set_participant_language(
        &self,
        id: &ParticipantId,
        language: Option<&str>,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                let language = language.map(str::to_owned);
                s.run(move |db| db.set_participant_language(&id, language.as_deref()))
                    .await
            }
            Backend::Postgres(p) => p.set_participant_language(id, language).await,
        }
    }

    pub async fn participants(
        &self,
        hearing: &HearingId,
    ) -> Result<Vec<ParticipantRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let hearing = hearing.clone();
                s.run(move |db| db.participants(&hearing)).await
            }
            Backend::Postgres(p) => p.participants(hearing).await,
        }
    }

    pub async fn participant(
        &self,
        id: &ParticipantId,
    ) -> Result<Option<ParticipantRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                s.run(move |db| db.participant(&id)).await
            }
            Backend::Postgres(p) => p.participant(id).await,
        }
    }

    /// The participant holding this invite token hash (whatever its validity).
    pub async fn participant_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<ParticipantRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let token_hash = token_hash.to_owned();
                s.run(move |db| db.participant_by_token(&token_hash)).await
            }
            Backend::Postgres(p) => p.participant_by_token(token_hash).await,
        }
    }

    /// The participant record of a signed-in staff member in a hearing.
    pub async fn participant_for_user(
        &self,
        hearing: &HearingId,
        user: &UserId,
    ) -> Result<Option<ParticipantRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let hearing = hearing.clone();
                let user = user.clone();
                s.run(move |db| db.participant_for_user(&hearing, &user))
                    .await
            }
            Backend::Postgres(p) => p.participant_for_user(hearing, user).await,
        }
    }

    pub async fn revoke_invite(&self, id: &ParticipantId) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                s.run(move |db| db.revoke_invite(&id)).await
            }
            Backend::Postgres(p) => p.revoke_invite(id).await,
        }
    }

    /// Binds the invitation to a device key (None unbinds it).
    pub async fn set_device_key(
        &self,
        id: &ParticipantId,
        key: Option<&str>,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                let key = key.map(str::to_owned);
                s.run(move |db| db.set_device_key(&id, key.as_deref()))
                    .await
            }
            Backend::Postgres(p) => p.set_device_key(id, key).await,
        }
    }

    /// Records (or lifts) the court's refusal to admit.
    pub async fn set_denied(&self, id: &ParticipantId, denied: bool) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                s.run(move |db| db.set_denied(&id, denied)).await
            }
            Backend::Postgres(p) => p.set_denied(id, denied).await,
        }
    }

    /// Replaces the invite token (the old link stops working). The new link starts
    /// fresh: no device bound, no denial (the court chose to invite again).
    pub async fn reissue_invite(
        &self,
        id: &ParticipantId,
        token_hash: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                let token_hash = token_hash.to_owned();
                s.run(move |db| db.reissue_invite(&id, &token_hash, expires_at))
                    .await
            }
            Backend::Postgres(p) => p.reissue_invite(id, token_hash, expires_at).await,
        }
    }

    pub async fn set_display_name(&self, id: &ParticipantId, name: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.clone();
                let name = name.to_owned();
                s.run(move |db| db.set_display_name(&id, &name)).await
            }
            Backend::Postgres(p) => p.set_display_name(id, name).await,
        }
    }

    pub async fn create_grant(
        &self,
        id: &str,
        hearing: &HearingId,
        user: &UserId,
        by: &UserId,
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let id = id.to_owned();
                let hearing = hearing.clone();
                let user = user.clone();
                let by = by.clone();
                s.run(move |db| db.create_grant(&id, &hearing, &user, &by, now, expires_at))
                    .await
            }
            Backend::Postgres(p) => p.create_grant(id, hearing, user, by, now, expires_at).await,
        }
    }

    pub async fn grants_for_hearing(
        &self,
        hearing: &HearingId,
    ) -> Result<Vec<GrantRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let hearing = hearing.clone();
                s.run(move |db| db.grants_for_hearing(&hearing)).await
            }
            Backend::Postgres(p) => p.grants_for_hearing(hearing).await,
        }
    }

    pub async fn grants_for_user(&self, user: &UserId) -> Result<Vec<GrantRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let user = user.clone();
                s.run(move |db| db.grants_for_user(&user)).await
            }
            Backend::Postgres(p) => p.grants_for_user(user).await,
        }
    }

    /// The grant that lets `user` retrieve `hearing` now, if any.
    pub async fn active_grant(
        &self,
        hearing: &HearingId,
        user: &UserId,
        now: i64,
    ) -> Result<Option<GrantRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let hearing = hearing.clone();
                let user = user.clone();
                s.run(move |db| db.active_grant(&hearing, &user, now)).await
            }
            Backend::Postgres(p) => p.active_grant(hearing, user, now).await,
        }
    }

    pub async fn revoke_grant(
        &self,
        hearing: &HearingId,
        id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(s) => {
                let hearing = hearing.clone();
                let id = id.to_owned();
                s.run(move |db| db.revoke_grant(&hearing, &id, now)).await
            }
            Backend::Postgres(p) => p.revoke_grant(hearing, id, now).await,
        }
    }
}
