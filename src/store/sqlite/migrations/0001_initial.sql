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
