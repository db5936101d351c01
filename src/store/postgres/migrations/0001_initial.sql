-- The schema SQLite reaches at its migration 6, in PostgreSQL's types: times are Unix
-- seconds (BIGINT), flags BOOLEAN. Text that is sorted or compared for uniqueness uses
-- the "C" collation, so order and equality are byte-wise as in SQLite whatever the
-- database's locale. The default court has the fixed id SQLite's upgrade gave it.
CREATE TABLE courts (
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);
INSERT INTO courts (id, name, created_at)
  VALUES ('00000000000000000000000000000000', 'Default court', EXTRACT(EPOCH FROM now())::BIGINT);

CREATE TABLE users (
  id TEXT COLLATE "C" PRIMARY KEY,
  username TEXT COLLATE "C" NOT NULL UNIQUE,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  court_id TEXT COLLATE "C" NOT NULL REFERENCES courts(id)
);

CREATE TABLE sessions (
  token_hash TEXT COLLATE "C" PRIMARY KEY,
  user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE setup_tokens (
  token_hash TEXT COLLATE "C" PRIMARY KEY,
  role TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  used BOOLEAN NOT NULL DEFAULT FALSE,
  court_id TEXT COLLATE "C" NOT NULL REFERENCES courts(id)
);

CREATE TABLE hearings (
  id TEXT COLLATE "C" PRIMARY KEY,
  case_ref TEXT NOT NULL,
  mla_ref TEXT NOT NULL,
  requesting_state TEXT NOT NULL,
  requested_state TEXT NOT NULL,
  scheduled_at TEXT COLLATE "C" NOT NULL,
  language TEXT NOT NULL,
  state TEXT NOT NULL,
  created_by TEXT COLLATE "C" NOT NULL REFERENCES users(id),
  created_at BIGINT NOT NULL,
  opened_at BIGINT,
  closed_at BIGINT,
  court_id TEXT COLLATE "C" NOT NULL REFERENCES courts(id),
  requesting_authority TEXT,
  requesting_reference TEXT,
  requested_authority TEXT,
  requested_reference TEXT,
  request_date TEXT,
  rehearsal BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX hearings_court ON hearings(court_id);

CREATE TABLE participants (
  id TEXT COLLATE "C" PRIMARY KEY,
  hearing_id TEXT COLLATE "C" NOT NULL REFERENCES hearings(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  role TEXT NOT NULL,
  user_id TEXT COLLATE "C" REFERENCES users(id),
  token_hash TEXT COLLATE "C" UNIQUE,
  token_expires_at BIGINT,
  revoked BOOLEAN NOT NULL DEFAULT FALSE,
  created_at BIGINT NOT NULL,
  device_key TEXT,
  denied BOOLEAN NOT NULL DEFAULT FALSE,
  language TEXT
);
CREATE INDEX participants_hearing ON participants(hearing_id);

CREATE TABLE grants (
  id TEXT COLLATE "C" PRIMARY KEY,
  hearing_id TEXT COLLATE "C" NOT NULL REFERENCES hearings(id) ON DELETE CASCADE,
  user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id),
  granted_by TEXT COLLATE "C" NOT NULL REFERENCES users(id),
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX grants_user ON grants(user_id);
CREATE INDEX grants_hearing ON grants(hearing_id);
