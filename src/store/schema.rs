//! Schema and migrations (versioned with `PRAGMA user_version`).

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE setup_tokens (
  token_hash TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE hearings (
  id TEXT PRIMARY KEY,
  case_ref TEXT NOT NULL,
  mla_ref TEXT NOT NULL,
  requesting_state TEXT NOT NULL,
  requested_state TEXT NOT NULL,
  scheduled_at TEXT NOT NULL,
  language TEXT NOT NULL,
  state TEXT NOT NULL,
  created_by TEXT NOT NULL REFERENCES users(id),
  created_at INTEGER NOT NULL,
  opened_at INTEGER,
  closed_at INTEGER
);
CREATE TABLE participants (
  id TEXT PRIMARY KEY,
  hearing_id TEXT NOT NULL REFERENCES hearings(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL,
  user_id TEXT REFERENCES users(id),
  token_hash TEXT UNIQUE,
  token_expires_at INTEGER,
  revoked INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX participants_hearing ON participants(hearing_id);
"#,
    r#"
CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  hearing_id TEXT NOT NULL REFERENCES hearings(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id),
  granted_by TEXT NOT NULL REFERENCES users(id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX grants_user ON grants(user_id);
"#,
    // The device an invitation is bound to (its browser key) and a denial that holds
    // across reconnections and restarts (docs/protocol.md, "device binding").
    r#"
ALTER TABLE participants ADD COLUMN device_key TEXT;
ALTER TABLE participants ADD COLUMN denied INTEGER NOT NULL DEFAULT 0;
"#,
    // Courts (#12 scenario 12): every staff account, setup link and hearing belongs to
    // one court; judges and clerks act only on their own court's hearings. What existed
    // before goes to one default court, so an upgraded server keeps working as it did.
    // (No REFERENCES on the new columns: SQLite refuses ADD COLUMN with a foreign key
    // and a non-NULL default; the store writes only court ids it has read.)
    r#"
CREATE TABLE courts (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
INSERT INTO courts (id, name, created_at)
  VALUES ('00000000000000000000000000000000', 'Default court', CAST(strftime('%s', 'now') AS INTEGER));
ALTER TABLE users ADD COLUMN court_id TEXT NOT NULL DEFAULT '00000000000000000000000000000000';
ALTER TABLE setup_tokens ADD COLUMN court_id TEXT NOT NULL DEFAULT '00000000000000000000000000000000';
ALTER TABLE hearings ADD COLUMN court_id TEXT NOT NULL DEFAULT '00000000000000000000000000000000';
CREATE INDEX hearings_court ON hearings(court_id);
"#,
    // The request on record (#13 point 1): the central authorities and the date of the
    // request; NULL for hearings scheduled before (their free-text States stay as they
    // were). Rehearsals (#13 point 7): practice hearings that keep no record.
    r#"
ALTER TABLE hearings ADD COLUMN requesting_authority TEXT;
ALTER TABLE hearings ADD COLUMN requesting_reference TEXT;
ALTER TABLE hearings ADD COLUMN requested_authority TEXT;
ALTER TABLE hearings ADD COLUMN requested_reference TEXT;
ALTER TABLE hearings ADD COLUMN request_date TEXT;
ALTER TABLE hearings ADD COLUMN rehearsal INTEGER NOT NULL DEFAULT 0;
"#,
    // The language a participant's pages open in (the invitation's default).
    r#"
ALTER TABLE participants ADD COLUMN language TEXT;
"#,
];

pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    migrate_to(conn, MIGRATIONS.len())
}

/// Applies the first `upto` migrations (tests build a database of an older schema).
pub fn migrate_to(conn: &Connection, upto: usize) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().take(upto) {
        let target = i as i64 + 1;
        if version < target {
            conn.execute_batch(&format!(
                "BEGIN; {sql} PRAGMA user_version = {target}; COMMIT;"
            ))?;
        }
    }
    Ok(())
}
