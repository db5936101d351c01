//! SQLite schema migrations: the numbered files in `migrations/`, applied in order in
//! one transaction each; the version reached is `PRAGMA user_version` (so a data
//! directory of any earlier release upgrades in place). Never edit a released file:
//! add the next number.

use rusqlite::Connection;

/// `(version, sql)`, in order; a version is its file's number.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_initial.sql")),
    (2, include_str!("migrations/0002_grants.sql")),
    (3, include_str!("migrations/0003_device_binding.sql")),
    (4, include_str!("migrations/0004_courts.sql")),
    (5, include_str!("migrations/0005_request_and_rehearsal.sql")),
    (6, include_str!("migrations/0006_participant_language.sql")),
];

pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    migrate_to(conn, MIGRATIONS.len())
}

/// Applies the first `upto` migrations (tests build a database of an older schema).
pub fn migrate_to(conn: &Connection, upto: usize) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (target, sql) in MIGRATIONS.iter().take(upto) {
        if version < *target {
            conn.execute_batch(&format!(
                "BEGIN; {sql} PRAGMA user_version = {target}; COMMIT;"
            ))?;
        }
    }
    Ok(())
}
