//! Metadata storage. The embedded default is SQLite (one file in the data directory);
//! the [`Store`] API is what the rest of the server sees, so another backend can follow
//! without touching domain code. Invite and session tokens are stored only as SHA-256
//! hashes; passwords only as argon2 hashes.

mod courts;
mod grants;
mod hearings;
mod schema;
mod users;

pub use courts::{CourtRow, court_name_acceptable};
pub use grants::GrantRow;
pub use hearings::{HearingRow, NewHearing, ParticipantRow, RequestDetails};
/// Applies the first `n` schema migrations to a bare connection: upgrade tests build a
/// database as an older release made it.
#[doc(hidden)]
pub use schema::migrate_to;
pub use users::{SessionRow, SetupGrant, UserRow};

use rusqlite::Connection;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    Conflict,
    #[error("database lock poisoned")]
    Poisoned,
}

/// The metadata store. Queries are short; callers hold the lock only for one statement
/// or one transaction.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }
}

pub(crate) fn map_unique(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict
        }
        other => StoreError::Sqlite(other),
    }
}
