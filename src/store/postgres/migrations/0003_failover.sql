-- A node that dies (#16 point 4): its open hearings are moved to a live node, which
-- restores them from object storage. hearings.moved_from names the node a hearing was
-- taken from until the new node has taken it over (then NULL), hearings.moved_at when.
-- nodes.signing_key is
-- the public key a node signs checkpoints with: every node of a cluster signs with the
-- same key, or a moved hearing's log could not go on.
ALTER TABLE hearings ADD COLUMN moved_from TEXT COLLATE "C";
ALTER TABLE hearings ADD COLUMN moved_at TIMESTAMPTZ;
ALTER TABLE nodes ADD COLUMN signing_key TEXT;
CREATE INDEX hearings_moved ON hearings (node_id) WHERE moved_from IS NOT NULL;
