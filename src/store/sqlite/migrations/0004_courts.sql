-- Courts (#12 scenario 12): every staff account, setup link and hearing belongs to
-- one court; judges and clerks act only on their own court's hearings. What existed
-- before goes to one default court, so an upgraded server keeps working as it did.
-- (No REFERENCES on the new columns: SQLite refuses ADD COLUMN with a foreign key
-- and a non-NULL default; the store writes only court ids it has read.)
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
