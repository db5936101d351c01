-- The language a participant's pages open in (the invitation's default).
ALTER TABLE participants ADD COLUMN language TEXT;
