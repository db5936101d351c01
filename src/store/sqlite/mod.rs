//! The SQLite backend: one file in the data directory (the embedded default). Owns the
//! connection and its schema; its queries are synchronous rusqlite calls on
//! [`SqliteDb`], and [`Sqlite::run`] is the only way the async store reaches them: each
//! call moves to tokio's blocking pool, so a slow disk never stalls a runtime worker.
//! It must never be called from a runtime thread directly.

mod courts;
mod grants;
mod hearings;
mod schema;
mod users;

pub use schema::migrate_to;

use super::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// The connection and its synchronous queries. Queries are short; each holds the lock
/// for one statement or one transaction.
pub(super) struct SqliteDb {
    conn: Mutex<Connection>,
}

/// The SQLite backend as the async store sees it.
#[derive(Clone)]
pub(super) struct Sqlite(Arc<SqliteDb>);

impl Sqlite {
    /// Opens (creating if missing) and migrates the database at `path`. Blocking: call
    /// before serving or from the blocking pool.
    pub(super) fn open(path: &Path) -> Result<Sqlite, StoreError> {
        SqliteDb::init(Connection::open(path)?)
    }

    pub(super) fn open_in_memory() -> Result<Sqlite, StoreError> {
        SqliteDb::init(Connection::open_in_memory()?)
    }

    /// Runs `f` on the blocking pool with the database.
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteDb) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.0.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|_| StoreError::Task)?
    }
}

impl SqliteDb {
    fn init(conn: Connection) -> Result<Sqlite, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&conn)?;
        Ok(Sqlite(Arc::new(SqliteDb {
            conn: Mutex::new(conn),
        })))
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
