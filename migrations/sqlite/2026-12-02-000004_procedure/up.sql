-- Procedure and privacy (docs/architecture.md, "The unit's view" and
-- "Deadlines"): what each audit event tells the unit, the return window the
-- transfer letter states, deadlines counted over a provisional calendar year,
-- the pending-extension flag, the recorded waiver of a defence, and the
-- notices a unit can read through the API.

-- The text the responsible unit reads for this event; NULL: the unit does not
-- see the event at all (intake details, routing, merges, identity reads).
ALTER TABLE audit_events ADD COLUMN unit_note TEXT;
CREATE INDEX audit_events_actor ON audit_events(actor_id, id);
CREATE INDEX audit_events_action ON audit_events(action, id);
CREATE INDEX audit_events_created ON audit_events(created_at, id);

-- Until when the unit may ask to return the case, as its transfer letter says.
ALTER TABLE assignments ADD COLUMN return_due_at TIMESTAMP;
UPDATE assignments SET return_due_at = ack_due_at;
-- The deadlines were counted over a year without its State Council notice.
ALTER TABLE assignments ADD COLUMN calendar_provisional BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE complaints ADD COLUMN calendar_provisional BOOLEAN NOT NULL DEFAULT 0;

-- An extension request waits for the office.
ALTER TABLE complaints ADD COLUMN extension_requested BOOLEAN NOT NULL DEFAULT 0;
UPDATE complaints SET extension_requested = 1
    WHERE id IN (SELECT complaint_id FROM extension_requests WHERE status = 'pending');
CREATE INDEX complaints_extension_requested ON complaints(extension_requested)
    WHERE extension_requested;

-- The supervisor recorded that the unit waived its defence.
ALTER TABLE accountability_cases ADD COLUMN defence_waived_by BIGINT;
ALTER TABLE accountability_cases ADD COLUMN defence_waived_at TIMESTAMP;

-- Every notice sent to a unit (deadline warning, redo, decisions), readable
-- through the API with the same text as its e-mail.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    unit_code TEXT NOT NULL REFERENCES units(code),
    complaint_id BIGINT REFERENCES complaints(id),
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP,
    read_by BIGINT
);
CREATE INDEX notices_unit ON notices(unit_code, id);
CREATE INDEX notices_complaint ON notices(complaint_id, id);
ALTER TABLE outbox ADD COLUMN notice_id BIGINT REFERENCES notices(id);
