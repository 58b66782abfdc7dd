-- The hotline desk and the office's daily queue (docs/architecture.md, "The
-- hotline desk" and "The queue"): calls linked to existing cases, callbacks
-- with their attempts, supplements, possible duplicates found at intake, and
-- the flags and indexes the supervisor's queue reads.

-- A call not for the office, passed to another line (110, 12345, 12388 or a
-- named body).
ALTER TABLE calls ADD COLUMN transferred_to TEXT;
ALTER TABLE calls ADD COLUMN transferred_to_name TEXT;
CREATE INDEX calls_phone_started ON calls(caller_phone_hash, started_at);
CREATE INDEX calls_complaint ON calls(complaint_id, id);

-- Times the citizen called to chase the case (催办).
ALTER TABLE complaints ADD COLUMN follow_ups INTEGER NOT NULL DEFAULT 0;
-- Intake found earlier cases this one may repeat; cleared by a screening.
ALTER TABLE complaints ADD COLUMN possible_duplicate BOOLEAN NOT NULL DEFAULT 0;
-- The citizen is unsatisfied with a closed case: the office decides whether
-- to reopen it.
ALTER TABLE complaints ADD COLUMN reopen_review BOOLEAN NOT NULL DEFAULT 0;
-- The callback (回访) of a closed case: due, reached, refused, unreachable or
-- not_possible (anonymous: nobody to call); NULL while the case is open.
ALTER TABLE complaints ADD COLUMN callback_status TEXT;
ALTER TABLE complaints ADD COLUMN callback_due_at TIMESTAMP;
UPDATE complaints SET reopen_review = 1
    WHERE status = 'closed' AND satisfaction = 'unsatisfied';

-- The queue's buckets, each read from its own index.
CREATE INDEX complaints_queue_unrouted ON complaints(received_at)
    WHERE status = 'received';
CREATE INDEX complaints_queue_return ON complaints(received_at) WHERE return_requested;
CREATE INDEX complaints_queue_delivery ON complaints(received_at) WHERE delivery_failed;
CREATE INDEX complaints_queue_note ON complaints(received_at) WHERE note_awaiting_approval;
CREATE INDEX complaints_queue_duplicate ON complaints(received_at) WHERE possible_duplicate;
CREATE INDEX complaints_queue_reopen ON complaints(received_at) WHERE reopen_review;
CREATE INDEX complaints_queue_chased ON complaints(received_at) WHERE follow_ups >= 2;
CREATE INDEX complaints_queue_callback ON complaints(callback_due_at)
    WHERE callback_status = 'due';
CREATE INDEX escalations_complaint ON escalations(complaint_id, assignment_id);

-- Each attempt to call a citizen back, kept as history.
CREATE TABLE callback_attempts (
    id INTEGER PRIMARY KEY,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    call_id BIGINT REFERENCES calls(id),
    operator_id BIGINT NOT NULL REFERENCES users(id),
    outcome TEXT NOT NULL,
    satisfaction TEXT,
    note TEXT,
    attempted_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX callback_attempts_complaint ON callback_attempts(complaint_id, id);

-- Facts added to a case after intake: by a caller (supplement) or from a
-- duplicate merged into it. The text is redacted like the complaint's.
CREATE TABLE supplements (
    id INTEGER PRIMARY KEY,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    source TEXT NOT NULL,
    call_id BIGINT REFERENCES calls(id),
    merged_from BIGINT REFERENCES complaints(id),
    content TEXT NOT NULL,
    created_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX supplements_complaint ON supplements(complaint_id, id);

-- Earlier cases a new case may repeat, with why and how similar.
CREATE TABLE duplicate_candidates (
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    candidate_id BIGINT NOT NULL REFERENCES complaints(id),
    reason TEXT NOT NULL,
    similarity INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (complaint_id, candidate_id)
);
