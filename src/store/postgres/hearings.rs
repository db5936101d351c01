//! Hearings and their participants (see the SQLite twin).

use super::Postgres;
use crate::domain::{CourtId, HearingId, HearingState, ParticipantId, ParticipantRole, UserId};
use crate::store::{HearingRow, NewHearing, ParticipantRow, RequestDetails, StoreError};
use tokio_postgres::Row;

const HEARING_COLS: &str = "id, case_ref, mla_ref, requesting_state, requested_state, scheduled_at, language, state, created_by, created_at, opened_at, closed_at, court_id, requesting_authority, requesting_reference, requested_authority, requested_reference, request_date, rehearsal";
const PARTICIPANT_COLS: &str = "id, hearing_id, display_name, role, user_id, token_expires_at, revoked, token_hash IS NOT NULL, device_key, denied, language";

fn hearing_from_row(r: &Row) -> Result<HearingRow, tokio_postgres::Error> {
    let state: String = r.try_get(7)?;
    Ok(HearingRow {
        id: HearingId::from_trusted(r.try_get(0)?),
        fields: NewHearing {
            case_ref: r.try_get(1)?,
            mla_ref: r.try_get(2)?,
            requesting_state: r.try_get(3)?,
            requested_state: r.try_get(4)?,
            scheduled_at: r.try_get(5)?,
            language: r.try_get(6)?,
            request: RequestDetails {
                requesting_authority: r.try_get(13)?,
                requesting_reference: r.try_get(14)?,
                requested_authority: r.try_get(15)?,
                requested_reference: r.try_get(16)?,
                request_date: r.try_get(17)?,
            },
            rehearsal: r.try_get(18)?,
        },
        state: HearingState::parse(&state).unwrap_or(HearingState::Closed),
        created_by: UserId::from_trusted(r.try_get(8)?),
        created_at: r.try_get(9)?,
        opened_at: r.try_get(10)?,
        closed_at: r.try_get(11)?,
        court_id: CourtId::from_trusted(r.try_get(12)?),
    })
}

fn participant_from_row(r: &Row) -> Result<ParticipantRow, tokio_postgres::Error> {
    let role: String = r.try_get(3)?;
    let user: Option<String> = r.try_get(4)?;
    Ok(ParticipantRow {
        id: ParticipantId::from_trusted(r.try_get(0)?),
        hearing_id: HearingId::from_trusted(r.try_get(1)?),
        display_name: r.try_get(2)?,
        // Written by us; an unknown value (edited database) gets the least rights.
        role: role.parse().unwrap_or(ParticipantRole::Defence),
        user_id: user.map(UserId::from_trusted),
        token_expires_at: r.try_get(5)?,
        revoked: r.try_get(6)?,
        has_token: r.try_get(7)?,
        device_key: r.try_get(8)?,
        denied: r.try_get(9)?,
        language: r.try_get(10)?,
    })
}

impl Postgres {
    pub(in crate::store) async fn create_hearing(
        &self,
        id: &HearingId,
        h: &NewHearing,
        by: &UserId,
        now: i64,
    ) -> Result<(), StoreError> {
        let n = self
            .exec_unique(
                "INSERT INTO hearings (id, case_ref, mla_ref, requesting_state, requested_state, scheduled_at, language, state, created_by, created_at, court_id, \
                 requesting_authority, requesting_reference, requested_authority, requested_reference, request_date, rehearsal) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, 'scheduled', u.id, $9::BIGINT, u.court_id, $10, $11, $12, $13, $14, $15::BOOLEAN FROM users u WHERE u.id = $8",
                &[
                    &id.as_str(), &h.case_ref, &h.mla_ref, &h.requesting_state, &h.requested_state, &h.scheduled_at, &h.language, &by.as_str(), &now,
                    &h.request.requesting_authority, &h.request.requesting_reference, &h.request.requested_authority,
                    &h.request.requested_reference, &h.request.request_date, &h.rehearsal,
                ],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(in crate::store) async fn hearing(
        &self,
        id: &HearingId,
    ) -> Result<Option<HearingRow>, StoreError> {
        self.opt(
            &format!("SELECT {HEARING_COLS} FROM hearings WHERE id = $1"),
            &[&id.as_str()],
            hearing_from_row,
        )
        .await
    }

    pub(in crate::store) async fn list_court_hearings(
        &self,
        court: &CourtId,
    ) -> Result<Vec<HearingRow>, StoreError> {
        self.all(
            &format!("SELECT {HEARING_COLS} FROM hearings WHERE court_id = $1 ORDER BY scheduled_at DESC, created_at DESC"),
            &[&court.as_str()],
            hearing_from_row,
        )
        .await
    }

    pub(in crate::store) async fn list_hearings(&self) -> Result<Vec<HearingRow>, StoreError> {
        self.all(
            &format!(
                "SELECT {HEARING_COLS} FROM hearings ORDER BY scheduled_at DESC, created_at DESC"
            ),
            &[],
            hearing_from_row,
        )
        .await
    }

    pub(in crate::store) async fn set_hearing_state(
        &self,
        id: &HearingId,
        state: HearingState,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = match state {
            HearingState::Open => {
                "UPDATE hearings SET state = 'open', opened_at = $2 WHERE id = $1 AND state = 'scheduled'"
            }
            HearingState::Closed => {
                "UPDATE hearings SET state = 'closed', closed_at = $2 WHERE id = $1 AND state = 'open'"
            }
            HearingState::Scheduled => return Ok(false),
        };
        Ok(self.exec(sql, &[&id.as_str(), &now]).await? == 1)
    }

    #[allow(clippy::too_many_arguments)]
    pub(in crate::store) async fn create_participant(
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
        self.exec_unique(
            "INSERT INTO participants (id, hearing_id, display_name, role, user_id, token_hash, token_expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[&id.as_str(), &hearing.as_str(), &display_name, &role.as_str(), &user.map(|u| u.as_str()), &token_hash, &token_expires_at, &now],
        )
        .await?;
        Ok(())
    }

    pub(in crate::store) async fn set_participant_language(
        &self,
        id: &ParticipantId,
        language: Option<&str>,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE participants SET language = $2 WHERE id = $1",
            &[&id.as_str(), &language],
        )
        .await?;
        Ok(())
    }

    pub(in crate::store) async fn participants(
        &self,
        hearing: &HearingId,
    ) -> Result<Vec<ParticipantRow>, StoreError> {
        self.all(
            &format!("SELECT {PARTICIPANT_COLS} FROM participants WHERE hearing_id = $1 ORDER BY created_at, id"),
            &[&hearing.as_str()],
            participant_from_row,
        )
        .await
    }

    pub(in crate::store) async fn participant(
        &self,
        id: &ParticipantId,
    ) -> Result<Option<ParticipantRow>, StoreError> {
        self.opt(
            &format!("SELECT {PARTICIPANT_COLS} FROM participants WHERE id = $1"),
            &[&id.as_str()],
            participant_from_row,
        )
        .await
    }

    pub(in crate::store) async fn participant_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<ParticipantRow>, StoreError> {
        self.opt(
            &format!("SELECT {PARTICIPANT_COLS} FROM participants WHERE token_hash = $1"),
            &[&token_hash],
            participant_from_row,
        )
        .await
    }

    pub(in crate::store) async fn participant_for_user(
        &self,
        hearing: &HearingId,
        user: &UserId,
    ) -> Result<Option<ParticipantRow>, StoreError> {
        self.opt(
            &format!(
                "SELECT {PARTICIPANT_COLS} FROM participants WHERE hearing_id = $1 AND user_id = $2"
            ),
            &[&hearing.as_str(), &user.as_str()],
            participant_from_row,
        )
        .await
    }

    pub(in crate::store) async fn revoke_invite(
        &self,
        id: &ParticipantId,
    ) -> Result<(), StoreError> {
        let n = self
            .exec(
                "UPDATE participants SET revoked = TRUE WHERE id = $1",
                &[&id.as_str()],
            )
            .await?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    pub(in crate::store) async fn set_device_key(
        &self,
        id: &ParticipantId,
        key: Option<&str>,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE participants SET device_key = $2 WHERE id = $1",
            &[&id.as_str(), &key],
        )
        .await?;
        Ok(())
    }

    pub(in crate::store) async fn set_denied(
        &self,
        id: &ParticipantId,
        denied: bool,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE participants SET denied = $2 WHERE id = $1",
            &[&id.as_str(), &denied],
        )
        .await?;
        Ok(())
    }

    pub(in crate::store) async fn reissue_invite(
        &self,
        id: &ParticipantId,
        token_hash: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let n = self
            .exec(
                "UPDATE participants SET token_hash = $2, token_expires_at = $3, revoked = FALSE, device_key = NULL, denied = FALSE WHERE id = $1",
                &[&id.as_str(), &token_hash, &expires_at],
            )
            .await?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    pub(in crate::store) async fn set_display_name(
        &self,
        id: &ParticipantId,
        name: &str,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE participants SET display_name = $2 WHERE id = $1",
            &[&id.as_str(), &name],
        )
        .await?;
        Ok(())
    }
}
