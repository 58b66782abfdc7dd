-- One log over the audit trail (docs/architecture.md, "The audit log"):
-- every audit event, score event and letter gets a position in one
-- append-only log (log_seq, 1, 2, 3, … across the three tables) and a MAC
-- under a key that is not in the database; a Merkle tree over the log
-- (RFC 9162) is kept by its right edge in audit_tree, and its signed heads
-- are the checkpoints. An audit event about a case carries the digest of the
-- case's state when it was sequenced (record_digest).
ALTER TABLE audit_events ADD COLUMN log_seq BIGINT;
ALTER TABLE audit_events ADD COLUMN log_mac TEXT;
ALTER TABLE audit_events ADD COLUMN record_digest TEXT;
CREATE UNIQUE INDEX audit_events_log_seq ON audit_events(log_seq);
CREATE INDEX audit_events_unsequenced ON audit_events(id) WHERE log_seq IS NULL;
CREATE INDEX audit_events_case_state ON audit_events(complaint_id, log_seq)
    WHERE record_digest IS NOT NULL;

ALTER TABLE score_events ADD COLUMN log_seq BIGINT;
ALTER TABLE score_events ADD COLUMN log_mac TEXT;
CREATE UNIQUE INDEX score_events_log_seq ON score_events(log_seq);
CREATE INDEX score_events_unsequenced ON score_events(id) WHERE log_seq IS NULL;

ALTER TABLE letters ADD COLUMN log_seq BIGINT;
ALTER TABLE letters ADD COLUMN log_mac TEXT;
CREATE UNIQUE INDEX letters_log_seq ON letters(log_seq);
CREATE INDEX letters_unsequenced ON letters(id) WHERE log_seq IS NULL;

-- The tree's head as the sequencer left it: size, root, the right edge
-- (the roots of its perfect subtrees, largest first, as hex joined by ','),
-- and a MAC over the three so that a smaller size cannot be written back.
CREATE TABLE audit_tree (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    root_hash TEXT NOT NULL,
    frontier TEXT NOT NULL,
    mac TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Signed tree heads. The signature is over `note` (the text an outsider
-- keeps); the key's public half is named by key_id.
CREATE TABLE audit_checkpoints (
    id INTEGER PRIMARY KEY,
    tree_size BIGINT NOT NULL,
    root_hash TEXT NOT NULL,
    signed_at TIMESTAMP NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE INDEX audit_checkpoints_size ON audit_checkpoints(tree_size);
