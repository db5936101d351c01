-- The device an invitation is bound to (its browser key) and a denial that holds
-- across reconnections and restarts (docs/protocol.md, "device binding").
ALTER TABLE participants ADD COLUMN device_key TEXT;
ALTER TABLE participants ADD COLUMN denied INTEGER NOT NULL DEFAULT 0;
