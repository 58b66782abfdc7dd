-- Security hardening (docs/architecture.md, "Routing", "Intake limits",
-- "Voiding a case", "Public notes"): why a case waits for a supervisor, the
-- index that counts filings naming one unit, location text kept sealed,
-- withdrawn letters, and progress notes that wait for the office before the
-- citizen sees them.

-- Why a case waits for the office (needs_confirmation): own_officer,
-- leader_unsure, leader_without_parent or burst. The office's alone.
ALTER TABLE complaints ADD COLUMN hold_reason TEXT;
UPDATE complaints SET hold_reason = 'own_officer' WHERE needs_confirmation;
CREATE INDEX complaints_subject_received ON complaints(subject_unit_code, received_at);

-- A unit's note marked public waits for the office's approval.
ALTER TABLE complaints ADD COLUMN note_awaiting_approval BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE progress_notes ADD COLUMN publication TEXT NOT NULL DEFAULT 'none';
UPDATE progress_notes SET publication = 'approved' WHERE public;
ALTER TABLE progress_notes ADD COLUMN publication_decided_by BIGINT;
ALTER TABLE progress_notes ADD COLUMN publication_decided_at TIMESTAMP;

-- Where something happened, as a citizen wrote it (Open311 address_string),
-- when it names no known township or unit: sealed like identity.
ALTER TABLE complainants ADD COLUMN location_enc BLOB;

-- A letter whose case the office voided stays, numbered, marked withdrawn.
ALTER TABLE letters ADD COLUMN withdrawn_at TIMESTAMP;
