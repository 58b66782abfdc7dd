ALTER TABLE letters DROP COLUMN withdrawn_at;
ALTER TABLE complainants DROP COLUMN location_enc;
ALTER TABLE progress_notes DROP COLUMN publication_decided_at;
ALTER TABLE progress_notes DROP COLUMN publication_decided_by;
ALTER TABLE progress_notes DROP COLUMN publication;
ALTER TABLE complaints DROP COLUMN note_awaiting_approval;
DROP INDEX complaints_subject_received;
ALTER TABLE complaints DROP COLUMN hold_reason;
