//! Metadata storage: courts, accounts, sessions, setup links, hearings, participants and
//! retrieval grants. Never media, logs or bundles (those are files, `evidence/`).
//!
//! Two backends behind one async API, [`Store`]:
//! - **SQLite** (`sqlite/`), the embedded default: one file in the data directory, its
//!   blocking calls on tokio's blocking pool;
//! - **PostgreSQL** (`postgres/`), for several `sworn serve` nodes sharing one database:
//!   tokio-postgres with a deadpool pool.
//!
//! Each has its own numbered SQL migrations (`*/migrations/NNNN_name.sql`): SQLite's
//! version is `PRAGMA user_version` (so existing data directories upgrade in place),
//! PostgreSQL's the `schema_migrations` table, applied under an advisory lock so nodes
//! starting together migrate once. The same test suite (`tests/store.rs`) runs against
//! both.
//!
//! Why an enum and not `dyn Trait`: the set of backends is closed (both live here), an
//! `async fn` in a trait is not object-safe without boxing every call, and a `match`
//! per method makes the compiler check that each backend has each method with the same
//! arguments. Callers hold `Arc<Store>` and never know which backend answers.
//!
//! Invite and session tokens are stored only as SHA-256 hashes; passwords only as
//! argon2 hashes. A database URL may hold a password: it is kept in [`DatabaseUrl`],
//! which never prints it, and no error here carries it.

mod api;
mod api_nodes;
mod location;
mod postgres;
mod rows;
mod sqlite;

pub use location::{Database, DatabaseUrlError};
pub use rows::{
    CourtRow, GrantRow, HearingRow, Moved, NewHearing, NodeRow, ParticipantRow, Placement,
    RequestDetails, SessionRow, SetupGrant, UserRow, court_name_acceptable,
};
/// Applies the first `n` SQLite schema migrations to a bare connection: upgrade tests
/// build a database as an older release made it.
#[doc(hidden)]
pub use sqlite::migrate_to;

use std::path::Path;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(String),
    #[error("database migration {version}: {reason}")]
    Migration { version: i64, reason: &'static str },
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    Conflict,
    #[error("database lock poisoned")]
    Poisoned,
    #[error("database task failed")]
    Task,
    #[error("no live media node to place the hearing on")]
    NoLiveNode,
    #[error("{0} needs the PostgreSQL store")]
    NeedsPostgres(&'static str),
}

enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// The metadata store (module doc). Every query is async; none blocks the runtime.
pub struct Store {
    backend: Backend,
}

impl Store {
    /// Opens the configured database: SQLite in `data_dir` unless `database` names
    /// another place. Migrates it to the current schema.
    pub async fn open(database: &Database, data_dir: &Path) -> Result<Store, StoreError> {
        match database {
            Database::DataDir => Self::open_sqlite(data_dir.join("sworn.sqlite3")).await,
            Database::Sqlite(path) => Self::open_sqlite(path.clone()).await,
            Database::Postgres(url) => Ok(Store {
                backend: Backend::Postgres(postgres::Postgres::connect(url).await?),
            }),
        }
    }

    async fn open_sqlite(path: std::path::PathBuf) -> Result<Store, StoreError> {
        let db = tokio::task::spawn_blocking(move || sqlite::Sqlite::open(&path))
            .await
            .map_err(|_| StoreError::Task)??;
        Ok(Store {
            backend: Backend::Sqlite(db),
        })
    }

    /// A fresh SQLite database in memory (tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Sqlite(sqlite::Sqlite::open_in_memory()?),
        })
    }

    /// Which backend answers (for the start-up log line; never the URL).
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgresql",
        }
    }
}
