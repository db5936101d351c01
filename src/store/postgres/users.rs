//! Staff accounts, sign-in sessions and one-time setup tokens (see the SQLite twin).

use super::Postgres;
use crate::domain::{CourtId, StaffRole, UserId};
use crate::store::{SessionRow, SetupGrant, StoreError, UserRow};
use tokio_postgres::Row;

const USER_COLS: &str = "u.id, u.username, u.role, u.password_hash, u.court_id";

fn user_from_row(r: &Row) -> Result<UserRow, tokio_postgres::Error> {
    let role: String = r.try_get(2)?;
    Ok(UserRow {
        id: UserId::from_trusted(r.try_get(0)?),
        username: r.try_get(1)?,
        // A role we wrote ourselves; an unknown value (edited database) gets no rights.
        role: role.parse().unwrap_or(StaffRole::Admin),
        password_hash: r.try_get(3)?,
        court_id: CourtId::from_trusted(r.try_get(4)?),
    })
}

fn session_from_row(r: &Row) -> Result<SessionRow, tokio_postgres::Error> {
    Ok(SessionRow {
        user: user_from_row(r)?,
        csrf: r.try_get(5)?,
        expires_at: r.try_get(6)?,
    })
}

const END_SESSIONS_OF: &str =
    "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = $1)";

impl Postgres {
    pub(in crate::store) async fn create_user(
        &self,
        id: &UserId,
        username: &str,
        role: StaffRole,
        password_hash: &str,
        court: &CourtId,
        now: i64,
    ) -> Result<(), StoreError> {
        let n = self
            .exec_unique(
                "INSERT INTO users (id, username, role, password_hash, created_at, court_id) \
                 SELECT $1, $2, $3, $4, $5::BIGINT, id FROM courts WHERE id = $6",
                &[
                    &id.as_str(),
                    &username,
                    &role.as_str(),
                    &password_hash,
                    &now,
                    &court.as_str(),
                ],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(in crate::store) async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE users SET password_hash = $2 WHERE username = $1",
                &[&username, &password_hash],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        tx.execute(END_SESSIONS_OF, &[&username]).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(in crate::store) async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE users SET disabled = $2 WHERE username = $1",
                &[&username, &disabled],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        if disabled {
            tx.execute(END_SESSIONS_OF, &[&username]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(in crate::store) async fn user_disabled(
        &self,
        username: &str,
    ) -> Result<Option<bool>, StoreError> {
        self.opt(
            "SELECT disabled FROM users WHERE username = $1",
            &[&username],
            |r| r.try_get(0),
        )
        .await
    }

    pub(in crate::store) async fn change_password(
        &self,
        user: &UserId,
        password_hash: &str,
        keep: &str,
    ) -> Result<usize, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&user.as_str(), &password_hash],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let ended = tx
            .execute(
                "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2",
                &[&user.as_str(), &keep],
            )
            .await?;
        tx.commit().await?;
        Ok(count(ended))
    }

    pub(in crate::store) async fn purge_expired_sessions(
        &self,
        now: i64,
    ) -> Result<usize, StoreError> {
        let n = self
            .exec("DELETE FROM sessions WHERE expires_at <= $1", &[&now])
            .await?;
        Ok(count(n))
    }

    pub(in crate::store) async fn user_by_name(
        &self,
        username: &str,
    ) -> Result<Option<UserRow>, StoreError> {
        self.opt(
            &format!("SELECT {USER_COLS} FROM users u WHERE u.username = $1 AND NOT u.disabled"),
            &[&username],
            user_from_row,
        )
        .await
    }

    pub(in crate::store) async fn user(&self, id: &UserId) -> Result<Option<UserRow>, StoreError> {
        self.opt(
            &format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"),
            &[&id.as_str()],
            user_from_row,
        )
        .await
    }

    pub(in crate::store) async fn list_users(&self) -> Result<Vec<UserRow>, StoreError> {
        self.all(
            &format!("SELECT {USER_COLS} FROM users u ORDER BY u.username"),
            &[],
            user_from_row,
        )
        .await
    }

    pub(in crate::store) async fn count_users(&self) -> Result<i64, StoreError> {
        let n = self
            .opt("SELECT COUNT(*) FROM users", &[], |r| r.try_get(0))
            .await?;
        Ok(n.unwrap_or(0))
    }

    pub(in crate::store) async fn create_session(
        &self,
        token_hash: &str,
        user: &UserId,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES ($1, $2, $3, $4)",
            &[&token_hash, &user.as_str(), &csrf, &expires_at],
        )
        .await?;
        Ok(())
    }

    pub(in crate::store) async fn session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        self.opt(
            &format!(
                "SELECT {USER_COLS}, s.csrf, s.expires_at FROM sessions s \
                 JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled"
            ),
            &[&token_hash, &now],
            session_from_row,
        )
        .await
    }

    pub(in crate::store) async fn delete_session(
        &self,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        self.exec("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
            .await?;
        Ok(())
    }

    pub(in crate::store) async fn create_setup_token(
        &self,
        token_hash: &str,
        role: StaffRole,
        court: &CourtId,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO setup_tokens (token_hash, role, expires_at, court_id) VALUES ($1, $2, $3, $4)",
            &[&token_hash, &role.as_str(), &expires_at, &court.as_str()],
        )
        .await?;
        Ok(())
    }

    pub(in crate::store) async fn consume_setup_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<SetupGrant>, StoreError> {
        let row: Option<(String, String)> = self
            .opt(
                "UPDATE setup_tokens SET used = TRUE WHERE token_hash = $1 AND NOT used AND expires_at > $2 RETURNING role, court_id",
                &[&token_hash, &now],
                |r| Ok((r.try_get(0)?, r.try_get(1)?)),
            )
            .await?;
        Ok(row.and_then(|(role, court)| {
            Some(SetupGrant {
                role: role.parse().ok()?,
                court_id: CourtId::from_trusted(court),
            })
        }))
    }

    pub(in crate::store) async fn setup_token_valid(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let n: Option<i64> = self
            .opt(
                "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1 AND NOT used AND expires_at > $2",
                &[&token_hash, &now],
                |r| r.try_get(0),
            )
            .await?;
        Ok(n.unwrap_or(0) > 0)
    }
}

/// A row count as `usize` (it fits: a count of rows this store holds).
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
