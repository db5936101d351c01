//! Hearings and their participants (with hashed invite tokens).

use super::{SqliteDb, map_unique};
use crate::domain::{CourtId, HearingId, HearingState, ParticipantId, ParticipantRole, UserId};
use crate::store::{HearingRow, NewHearing, ParticipantRow, RequestDetails, StoreError};
use rusqlite::{OptionalExtension, params};

const HEARING_COLS: &str = "id, case_ref, mla_ref, requesting_state, requested_state, scheduled_at, language, state, created_by, created_at, opened_at, closed_at, court_id, requesting_authority, requesting_reference, requested_authority, requested_reference, request_date, rehearsal";
const PARTICIPANT_COLS: &str = "id, hearing_id, display_name, role, user_id, token_expires_at, revoked, token_hash IS NOT NULL, device_key, denied, language";

fn hearing_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HearingRow> {
    let state: String = r.get(7)?;
    Ok(HearingRow {
        id: HearingId::from_trusted(r.get(0)?),
        fields: NewHearing {
            case_ref: r.get(1)?,
            mla_ref: r.get(2)?,
            requesting_state: r.get(3)?,
            requested_state: r.get(4)?,
            scheduled_at: r.get(5)?,
            language: r.get(6)?,
            request: RequestDetails {
                requesting_authority: r.get(13)?,
                requesting_reference: r.get(14)?,
                requested_authority: r.get(15)?,
                requested_reference: r.get(16)?,
                request_date: r.get(17)?,
            },
            rehearsal: r.get::<_, i64>(18)? != 0,
        },
        state: HearingState::parse(&state).unwrap_or(HearingState::Closed),
        created_by: UserId::from_trusted(r.get(8)?),
        created_at: r.get(9)?,
        opened_at: r.get(10)?,
        closed_at: r.get(11)?,
        court_id: CourtId::from_trusted(r.get(12)?),
    })
}

fn participant_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ParticipantRow> {
    let role: String = r.get(3)?;
    let user: Option<String> = r.get(4)?;
    Ok(ParticipantRow {
        id: ParticipantId::from_trusted(r.get(0)?),
        hearing_id: HearingId::from_trusted(r.get(1)?),
        display_name: r.get(2)?,
        // Written by us; an unknown value (edited database) gets the least rights.
        role: role.parse().unwrap_or(ParticipantRole::Defence),
        user_id: user.map(UserId::from_trusted),
        token_expires_at: r.get(5)?,
        revoked: r.get::<_, i64>(6)? != 0,
        has_token: r.get(7)?,
        device_key: r.get(8)?,
        denied: r.get::<_, i64>(9)? != 0,
        language: r.get(10)?,
    })
}

impl SqliteDb {
    /// Creates a hearing in its creator's court (read from the account row, so the
    /// two cannot disagree); `NotFound` if there is no such account.
    pub fn create_hearing(
        &self,
        id: &HearingId,
        h: &NewHearing,
        by: &UserId,
        now: i64,
    ) -> Result<(), StoreError> {
        let n = self
            .conn()?
            .execute(
                "INSERT INTO hearings (id, case_ref, mla_ref, requesting_state, requested_state, scheduled_at, language, state, created_by, created_at, court_id, \
                 requesting_authority, requesting_reference, requested_authority, requested_reference, request_date, rehearsal) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'scheduled', u.id, ?9, u.court_id, ?10, ?11, ?12, ?13, ?14, ?15 FROM users u WHERE u.id = ?8",
                params![
                    id.as_str(), h.case_ref, h.mla_ref, h.requesting_state, h.requested_state, h.scheduled_at, h.language, by.as_str(), now,
                    h.request.requesting_authority, h.request.requesting_reference, h.request.requested_authority,
                    h.request.requested_reference, h.request.request_date, i64::from(h.rehearsal)
                ],
            )
            .map_err(map_unique)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub fn hearing(&self, id: &HearingId) -> Result<Option<HearingRow>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {HEARING_COLS} FROM hearings WHERE id = ?1"),
                [id.as_str()],
                hearing_from_row,
            )
            .optional()?)
    }

    /// The hearings of one court, newest first.
    pub fn list_court_hearings(&self, court: &CourtId) -> Result<Vec<HearingRow>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn.prepare(&format!(
            "SELECT {HEARING_COLS} FROM hearings WHERE court_id = ?1 ORDER BY scheduled_at DESC, created_at DESC"
        ))?;
        let rows = st
            .query_map([court.as_str()], hearing_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Every hearing of every court (start-up recovery; never an answer to a request).
    pub fn list_hearings(&self) -> Result<Vec<HearingRow>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn.prepare(&format!(
            "SELECT {HEARING_COLS} FROM hearings ORDER BY scheduled_at DESC, created_at DESC"
        ))?;
        let rows = st
            .query_map([], hearing_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Moves a hearing to `state`, stamping the time; only forward moves succeed.
    pub fn set_hearing_state(
        &self,
        id: &HearingId,
        state: HearingState,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = match state {
            HearingState::Open => {
                "UPDATE hearings SET state = 'open', opened_at = ?2 WHERE id = ?1 AND state = 'scheduled'"
            }
            HearingState::Closed => {
                "UPDATE hearings SET state = 'closed', closed_at = ?2 WHERE id = ?1 AND state = 'open'"
            }
            HearingState::Scheduled => return Ok(false),
        };
        Ok(self.conn()?.execute(sql, params![id.as_str(), now])? == 1)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn create_participant(
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
        self.conn()?
            .execute(
                "INSERT INTO participants (id, hearing_id, display_name, role, user_id, token_hash, token_expires_at, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![id.as_str(), hearing.as_str(), display_name, role.as_str(), user.map(|u| u.as_str()), token_hash, token_expires_at, now],
            )
            .map_err(map_unique)?;
        Ok(())
    }

    /// Sets the language a participant's pages open in.
    pub fn set_participant_language(
        &self,
        id: &ParticipantId,
        language: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE participants SET language = ?2 WHERE id = ?1",
            params![id.as_str(), language],
        )?;
        Ok(())
    }

    pub fn participants(&self, hearing: &HearingId) -> Result<Vec<ParticipantRow>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn.prepare(&format!("SELECT {PARTICIPANT_COLS} FROM participants WHERE hearing_id = ?1 ORDER BY created_at, id"))?;
        let rows = st
            .query_map([hearing.as_str()], participant_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn participant(&self, id: &ParticipantId) -> Result<Option<ParticipantRow>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {PARTICIPANT_COLS} FROM participants WHERE id = ?1"),
                [id.as_str()],
                participant_from_row,
            )
            .optional()?)
    }

    /// The participant holding this invite token hash (whatever its validity).
    pub fn participant_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<ParticipantRow>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {PARTICIPANT_COLS} FROM participants WHERE token_hash = ?1"),
                [token_hash],
                participant_from_row,
            )
            .optional()?)
    }

    /// The participant record of a signed-in staff member in a hearing.
    pub fn participant_for_user(
        &self,
        hearing: &HearingId,
        user: &UserId,
    ) -> Result<Option<ParticipantRow>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {PARTICIPANT_COLS} FROM participants WHERE hearing_id = ?1 AND user_id = ?2"),
                params![hearing.as_str(), user.as_str()],
                participant_from_row,
            )
            .optional()?)
    }

    pub fn revoke_invite(&self, id: &ParticipantId) -> Result<(), StoreError> {
        let n = self.conn()?.execute(
            "UPDATE participants SET revoked = 1 WHERE id = ?1",
            [id.as_str()],
        )?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Binds the invitation to a device key (None unbinds it).
    pub fn set_device_key(&self, id: &ParticipantId, key: Option<&str>) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE participants SET device_key = ?2 WHERE id = ?1",
            params![id.as_str(), key],
        )?;
        Ok(())
    }

    /// Records (or lifts) the court's refusal to admit.
    pub fn set_denied(&self, id: &ParticipantId, denied: bool) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE participants SET denied = ?2 WHERE id = ?1",
            params![id.as_str(), i64::from(denied)],
        )?;
        Ok(())
    }

    /// Replaces the invite token (the old link stops working). The new link starts
    /// fresh: no device bound, no denial (the court chose to invite again).
    pub fn reissue_invite(
        &self,
        id: &ParticipantId,
        token_hash: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let n = self.conn()?.execute(
            "UPDATE participants SET token_hash = ?2, token_expires_at = ?3, revoked = 0, device_key = NULL, denied = 0 WHERE id = ?1",
            params![id.as_str(), token_hash, expires_at],
        )?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    pub fn set_display_name(&self, id: &ParticipantId, name: &str) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE participants SET display_name = ?2 WHERE id = ?1",
            params![id.as_str(), name],
        )?;
        Ok(())
    }
}
