//! Where the metadata lives: the `database.url` setting (`SWORN_DATABASE_URL`), parsed
//! once. A PostgreSQL URL may carry a password, so it never prints.

use crate::secrets::Redacted;
use std::path::PathBuf;

/// The configured database.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Database {
    /// `sworn.sqlite3` in the data directory (the default).
    #[default]
    DataDir,
    /// A SQLite file elsewhere: `sqlite:PATH`.
    Sqlite(PathBuf),
    /// A PostgreSQL server: `postgres://` or `postgresql://` (libpq's URL form; a Unix
    /// socket directory goes in `?host=/path`).
    Postgres(DatabaseUrl),
}

/// A PostgreSQL connection URL, redacted in `Debug` and `Display`.
#[derive(Clone, Debug)]
pub struct DatabaseUrl(Redacted<String>);

impl DatabaseUrl {
    /// The URL itself, for the driver only.
    pub(super) fn expose(&self) -> &str {
        &self.0.0
    }
}

/// Why a database URL was refused. Never echoes the URL (it may hold a password).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatabaseUrlError {
    #[error("expected postgres://, postgresql:// or sqlite:PATH")]
    Scheme,
    #[error("sqlite: needs a path")]
    EmptyPath,
    #[error("not a valid PostgreSQL URL: {0}")]
    Postgres(String),
}

impl Database {
    pub fn parse(url: &str) -> Result<Database, DatabaseUrlError> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("sqlite:") {
            // `sqlite:///abs/path` and `sqlite:rel/path` both name a file.
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(DatabaseUrlError::EmptyPath);
            }
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            url.parse::<tokio_postgres::Config>()
                .map_err(|e| DatabaseUrlError::Postgres(e.to_string()))?;
            return Ok(Database::Postgres(DatabaseUrl(Redacted(url.to_owned()))));
        }
        Err(DatabaseUrlError::Scheme)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_never_print_their_password() {
        assert!(
            matches!(Database::parse("sqlite:/tmp/x.db"), Ok(Database::Sqlite(p)) if p == std::path::Path::new("/tmp/x.db"))
        );
        assert!(
            matches!(Database::parse("sqlite:///tmp/x.db"), Ok(Database::Sqlite(p)) if p == std::path::Path::new("/tmp/x.db"))
        );
        assert!(matches!(
            Database::parse("sqlite:"),
            Err(DatabaseUrlError::EmptyPath)
        ));
        assert!(matches!(
            Database::parse("mysql://x"),
            Err(DatabaseUrlError::Scheme)
        ));
        let pg = Database::parse("postgres://sworn:hunter2@db.example/sworn").unwrap();
        assert!(matches!(pg, Database::Postgres(_)));
        assert!(!format!("{pg:?}").contains("hunter2"));
        let socket = Database::parse("postgresql://sworn@localhost/sworn?host=/run/pg");
        assert!(matches!(socket, Ok(Database::Postgres(_))));
        let bad = Database::parse("postgres://u:hunter2@h:notaport/db").unwrap_err();
        assert!(!bad.to_string().contains("hunter2"));
    }
}
