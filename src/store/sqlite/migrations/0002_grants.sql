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
