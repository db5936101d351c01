//! Retrieval grants: a named prosecutor or defence account may retrieve a sealed
//! hearing's bundle until the grant expires or is revoked.

use super::SqliteDb;
use crate::domain::{HearingId, UserId};
use crate::store::{GrantRow, StoreError};
use rusqlite::{OptionalExtension, params};

const COLS: &str = "g.id, g.hearing_id, g.user_id, u.username, u.role, g.granted_by, g.created_at, g.expires_at, g.revoked_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GrantRow> {
    Ok(GrantRow {
        id: r.get(0)?,
        hearing_id: HearingId::from_trusted(r.get(1)?),
        user_id: UserId::from_trusted(r.get(2)?),
        username: r.get(3)?,
        role: r.get(4)?,
        granted_by: UserId::from_trusted(r.get(5)?),
        created_at: r.get(6)?,
        expires_at: r.get(7)?,
        revoked_at: r.get(8)?,
    })
}

impl SqliteDb {
    pub fn create_grant(
        &self,
        id: &str,
        hearing: &HearingId,
        user: &UserId,
        by: &UserId,
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO grants (id, hearing_id, user_id, granted_by, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, hearing.as_str(), user.as_str(), by.as_str(), now, expires_at],
        )?;
        Ok(())
    }

    pub fn grants_for_hearing(&self, hearing: &HearingId) -> Result<Vec<GrantRow>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn.prepare(&format!("SELECT {COLS} FROM grants g JOIN users u ON u.id = g.user_id WHERE g.hearing_id = ?1 ORDER BY g.created_at"))?;
        let rows = st
            .query_map([hearing.as_str()], row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn grants_for_user(&self, user: &UserId) -> Result<Vec<GrantRow>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn.prepare(&format!("SELECT {COLS} FROM grants g JOIN users u ON u.id = g.user_id WHERE g.user_id = ?1 ORDER BY g.created_at DESC"))?;
        let rows = st
            .query_map([user.as_str()], row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The grant that lets `user` retrieve `hearing` now, if any.
    pub fn active_grant(
        &self,
        hearing: &HearingId,
        user: &UserId,
        now: i64,
    ) -> Result<Option<GrantRow>, StoreError> {
        let conn = self.conn()?;
        Ok(conn
            .query_row(
                &format!(
                    "SELECT {COLS} FROM grants g JOIN users u ON u.id = g.user_id WHERE g.hearing_id = ?1 AND g.user_id = ?2 \
                     AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > ?3) ORDER BY g.created_at DESC LIMIT 1"
                ),
                params![hearing.as_str(), user.as_str(), now],
                row,
            )
            .optional()?)
    }

    pub fn revoke_grant(&self, hearing: &HearingId, id: &str, now: i64) -> Result<(), StoreError> {
        let n = self.conn()?.execute(
            "UPDATE grants SET revoked_at = ?3 WHERE hearing_id = ?1 AND id = ?2 AND revoked_at IS NULL",
            params![hearing.as_str(), id, now],
        )?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
