//! Staff accounts, sign-in sessions and one-time setup tokens.

use super::{SqliteDb, map_unique};
use crate::domain::{CourtId, StaffRole, UserId};
use crate::store::{SessionRow, SetupGrant, StoreError, UserRow};
use rusqlite::{OptionalExtension, params};

/// The columns [`user_from_row`] reads, from `users` aliased `u`.
const USER_COLS: &str = "u.id, u.username, u.role, u.password_hash, u.court_id";

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    let role: String = r.get(2)?;
    Ok(UserRow {
        id: UserId::from_trusted(r.get(0)?),
        username: r.get(1)?,
        // A role we wrote ourselves; an unknown value (edited database) gets no rights.
        role: role.parse().unwrap_or(StaffRole::Admin),
        password_hash: r.get(3)?,
        court_id: CourtId::from_trusted(r.get(4)?),
    })
}

/// Deletes every session of the account named `username`.
fn end_sessions_of(tx: &rusqlite::Transaction<'_>, username: &str) -> rusqlite::Result<usize> {
    tx.execute(
        "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?1)",
        [username],
    )
}

impl SqliteDb {
    /// Creates an account in `court` (which must exist: refused with `NotFound` otherwise).
    pub fn create_user(
        &self,
        id: &UserId,
        username: &str,
        role: StaffRole,
        password_hash: &str,
        court: &CourtId,
        now: i64,
    ) -> Result<(), StoreError> {
        let n = self
            .conn()?
            .execute(
                "INSERT INTO users (id, username, role, password_hash, created_at, court_id) \
                 SELECT ?1, ?2, ?3, ?4, ?5, id FROM courts WHERE id = ?6",
                params![
                    id.as_str(),
                    username,
                    role.as_str(),
                    password_hash,
                    now,
                    court.as_str()
                ],
            )
            .map_err(map_unique)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Sets a new password and ends every session of that account (the CLI's
    /// `user passwd`: whoever knew the old password is signed out).
    pub fn set_password(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE users SET password_hash = ?2 WHERE username = ?1",
            params![username, password_hash],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        end_sessions_of(&tx, username)?;
        tx.commit()?;
        Ok(())
    }

    /// Disables (or enables again) an account. Disabling ends its sessions at once
    /// (they are refused anyway: every session lookup checks the account).
    pub fn set_disabled(&self, username: &str, disabled: bool) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE users SET disabled = ?2 WHERE username = ?1",
            params![username, disabled],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        if disabled {
            end_sessions_of(&tx, username)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Whether the account named `username` is disabled (`None`: no such account).
    pub fn user_disabled(&self, username: &str) -> Result<Option<bool>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT disabled FROM users WHERE username = ?1",
                [username],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Sets a user's password hash and ends every session of theirs but `keep` (the
    /// token hash of the session that asked); returns how many sessions ended.
    pub fn change_password(
        &self,
        user: &UserId,
        password_hash: &str,
        keep: &str,
    ) -> Result<usize, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![user.as_str(), password_hash],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let ended = tx.execute(
            "DELETE FROM sessions WHERE user_id = ?1 AND token_hash <> ?2",
            params![user.as_str(), keep],
        )?;
        tx.commit()?;
        Ok(ended)
    }

    /// Deletes sessions that expired before `now`; returns how many.
    pub fn purge_expired_sessions(&self, now: i64) -> Result<usize, StoreError> {
        Ok(self
            .conn()?
            .execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?)
    }

    pub fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                &format!(
                    "SELECT {USER_COLS} FROM users u WHERE u.username = ?1 AND u.disabled = 0"
                ),
                [username],
                user_from_row,
            )
            .optional()?)
    }

    pub fn user(&self, id: &UserId) -> Result<Option<UserRow>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?1"),
                [id.as_str()],
                user_from_row,
            )
            .optional()?)
    }

    pub fn list_users(&self) -> Result<Vec<UserRow>, StoreError> {
        let conn = self.conn()?;
        let mut st = conn.prepare(&format!(
            "SELECT {USER_COLS} FROM users u ORDER BY u.username"
        ))?;
        let rows = st
            .query_map([], user_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn count_users(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()?
            .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
    }

    pub fn create_session(
        &self,
        token_hash: &str,
        user: &UserId,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![token_hash, user.as_str(), csrf, expires_at],
        )?;
        Ok(())
    }

    /// The session for a token hash, if it exists and has not expired at `now`.
    pub fn session(&self, token_hash: &str, now: i64) -> Result<Option<SessionRow>, StoreError> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                &format!("SELECT {USER_COLS}, s.csrf, s.expires_at FROM sessions s \
                 JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0"),
                params![token_hash, now],
                |r| Ok(SessionRow { user: user_from_row(r)?, csrf: r.get(5)?, expires_at: r.get(6)? }),
            )
            .optional()?;
        Ok(row)
    }

    pub fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.conn()?
            .execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
        Ok(())
    }

    /// A one-time link that creates an account with `role` in `court`.
    pub fn create_setup_token(
        &self,
        token_hash: &str,
        role: StaffRole,
        court: &CourtId,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO setup_tokens (token_hash, role, expires_at, court_id) VALUES (?1, ?2, ?3, ?4)",
            params![token_hash, role.as_str(), expires_at, court.as_str()],
        )?;
        Ok(())
    }

    /// Marks a setup token used; returns its role and court if it was valid and unused
    /// at `now`.
    pub fn consume_setup_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<SetupGrant>, StoreError> {
        let conn = self.conn()?;
        let row: Option<(String, String)> = conn
            .query_row(
                "UPDATE setup_tokens SET used = 1 WHERE token_hash = ?1 AND used = 0 AND expires_at > ?2 RETURNING role, court_id",
                params![token_hash, now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(role, court)| {
            Some(SetupGrant {
                role: role.parse().ok()?,
                court_id: CourtId::from_trusted(court),
            })
        }))
    }

    pub fn setup_token_valid(&self, token_hash: &str, now: i64) -> Result<bool, StoreError> {
        let n: i64 = self.conn()?.query_row(
            "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = ?1 AND used = 0 AND expires_at > ?2",
            params![token_hash, now],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }
}
