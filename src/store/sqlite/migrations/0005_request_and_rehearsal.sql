-- The request on record (#13 point 1): the central authorities and the date of the
-- request; NULL for hearings scheduled before (their free-text States stay as they
-- were). Rehearsals (#13 point 7): practice hearings that keep no record.
ALTER TABLE hearings ADD COLUMN requesting_authority TEXT;
ALTER TABLE hearings ADD COLUMN requesting_reference TEXT;
ALTER TABLE hearings ADD COLUMN requested_authority TEXT;
ALTER TABLE hearings ADD COLUMN requested_reference TEXT;
ALTER TABLE hearings ADD COLUMN request_date TEXT;
ALTER TABLE hearings ADD COLUMN rehearsal INTEGER NOT NULL DEFAULT 0;
