//! Retrieval grants (see the SQLite twin).

use super::Postgres;
use crate::domain::{HearingId, UserId};
use crate::store::{GrantRow, StoreError};
use tokio_postgres::Row;

const COLS: &str = "g.id, g.hearing_id, g.user_id, u.username, u.role, g.granted_by, g.created_at, g.expires_at, g.revoked_at";

fn row(r: &Row) -> Result<GrantRow, tokio_postgres::Error> {
    Ok(GrantRow {
        id: r.try_get(0)?,
        hearing_id: HearingId::from_trusted(r.try_get(1)?),
        user_id: UserId::from_trusted(r.try_get(2)?),
        username: r.try_get(3)?,
        role: r.try_get(4)?,
        granted_by: UserId::from_trusted(r.try_get(5)?),
        created_at: r.try_get(6)?,
        expires_at: r.try_get(7)?,
        revoked_at: r.try_get(8)?,
    })
}

impl Postgres {
    pub(in crate::store) async fn create_grant(
        &self,
        id: &str,
        hearing: &HearingId,
        user: &UserId,
        by: &UserId,
        now: i64,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO grants (id, hearing_id, user_id, granted_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&id, &hearing.as_str(), &user.as_str(), &by.as_str(), &now, &expires_at],
        )
        .await?;
        Ok(())
    }

    pub(in crate::store) async fn grants_for_hearing(
        &self,
        hearing: &HearingId,
    ) -> Result<Vec<GrantRow>, StoreError> {
        self.all(
            &format!("SELECT {COLS} FROM grants g JOIN users u ON u.id = g.user_id WHERE g.hearing_id = $1 ORDER BY g.created_at"),
            &[&hearing.as_str()],
            row,
        )
        .await
    }

    pub(in crate::store) async fn grants_for_user(
        &self,
        user: &UserId,
    ) -> Result<Vec<GrantRow>, StoreError> {
        self.all(
            &format!("SELECT {COLS} FROM grants g JOIN users u ON u.id = g.user_id WHERE g.user_id = $1 ORDER BY g.created_at DESC"),
            &[&user.as_str()],
            row,
        )
        .await
    }

    pub(in crate::store) async fn active_grant(
        &self,
        hearing: &HearingId,
        user: &UserId,
        now: i64,
    ) -> Result<Option<GrantRow>, StoreError> {
        self.opt(
            &format!(
                "SELECT {COLS} FROM grants g JOIN users u ON u.id = g.user_id WHERE g.hearing_id = $1 AND g.user_id = $2 \
                 AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $3) ORDER BY g.created_at DESC LIMIT 1"
            ),
            &[&hearing.as_str(), &user.as_str(), &now],
            row,
        )
        .await
    }

    pub(in crate::store) async fn revoke_grant(
        &self,
        hearing: &HearingId,
        id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let n = self
            .exec(
                "UPDATE grants SET revoked_at = $3 WHERE hearing_id = $1 AND id = $2 AND revoked_at IS NULL",
                &[&hearing.as_str(), &id, &now],
            )
            .await?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
