-- Media nodes (#16 point 3): every `sworn serve` of a cluster keeps its row fresh with a
-- heartbeat; a hearing is placed on one node (hearings.node_id) the first time it is
-- reached. Times are the database's clock (now()), so nodes' clocks need not agree.
CREATE TABLE nodes (
    id TEXT COLLATE "C" PRIMARY KEY,
    internal_url TEXT NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    load BIGINT NOT NULL DEFAULT 0,
    draining BOOLEAN NOT NULL DEFAULT FALSE
);

ALTER TABLE hearings ADD COLUMN node_id TEXT COLLATE "C";
CREATE INDEX hearings_node_id ON hearings (node_id);
