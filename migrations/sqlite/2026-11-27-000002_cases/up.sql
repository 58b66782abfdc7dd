-- Routing, the unit workflow, the two clocks, letters and the e-mail outbox.

-- The clocks of the current assignment, copied onto the case so lists and the
-- escalation sweep find open deadlines through one index.
ALTER TABLE complaints ADD COLUMN ack_due_at TIMESTAMP;
ALTER TABLE complaints ADD COLUMN due_at TIMESTAMP;
ALTER TABLE complaints ADD COLUMN acknowledged_at TIMESTAMP;
ALTER TABLE complaints ADD COLUMN return_requested BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE complaints ADD COLUMN delivery_failed BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE complaints ADD COLUMN duplicate_of TEXT;
ALTER TABLE complaints ADD COLUMN screen_reason TEXT;
ALTER TABLE complaints ADD COLUMN satisfaction TEXT;
ALTER TABLE complaints ADD COLUMN needs_confirmation BOOLEAN NOT NULL DEFAULT 0;
CREATE INDEX complaints_due ON complaints(status, due_at);

CREATE TABLE assignments (
    id INTEGER PRIMARY KEY,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    unit_code TEXT NOT NULL REFERENCES units(code),
    assigned_at TIMESTAMP NOT NULL,
    assigned_by BIGINT,
    how TEXT NOT NULL,
    note TEXT,
    ack_workdays INTEGER NOT NULL,
    handle_workdays INTEGER NOT NULL,
    ack_due_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP,
    reported_at TIMESTAMP,
    return_reason TEXT,
    ended_at TIMESTAMP,
    end_reason TEXT
);
CREATE INDEX assignments_complaint ON assignments(complaint_id, id);

CREATE TABLE progress_notes (
    id INTEGER PRIMARY KEY,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    unit_code TEXT NOT NULL,
    author_id BIGINT NOT NULL,
    content TEXT NOT NULL,
    public BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX progress_notes_complaint ON progress_notes(complaint_id, id);

CREATE TABLE extension_requests (
    id INTEGER PRIMARY KEY,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    assignment_id BIGINT NOT NULL REFERENCES assignments(id),
    workdays INTEGER NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_by BIGINT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    decided_by BIGINT,
    decided_at TIMESTAMP,
    decision_note TEXT,
    old_due_at TIMESTAMP NOT NULL,
    new_due_at TIMESTAMP
);
CREATE INDEX extension_requests_complaint ON extension_requests(complaint_id, id);

CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    assignment_id BIGINT NOT NULL REFERENCES assignments(id),
    findings TEXT NOT NULL,
    measures TEXT NOT NULL,
    responsible_person TEXT NOT NULL,
    rectification_deadline DATE NOT NULL,
    target TEXT NOT NULL,
    public_reply TEXT NOT NULL,
    submitted_by BIGINT NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    review TEXT,
    review_comment TEXT,
    reviewed_by BIGINT,
    reviewed_at TIMESTAMP
);
CREATE INDEX reports_complaint ON reports(complaint_id, id);

CREATE TABLE rectification_items (
    id INTEGER PRIMARY KEY,
    report_id BIGINT NOT NULL REFERENCES reports(id),
    content TEXT NOT NULL,
    responsible_person TEXT NOT NULL,
    deadline DATE NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL
);

CREATE TABLE letters (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    year INTEGER NOT NULL,
    seq BIGINT NOT NULL,
    number TEXT NOT NULL UNIQUE,
    complaint_id BIGINT REFERENCES complaints(id),
    unit_code TEXT NOT NULL REFERENCES units(code),
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (kind, year, seq)
);
CREATE INDEX letters_unit ON letters(unit_code, id);
CREATE INDEX letters_complaint ON letters(complaint_id, id);

-- E-mail waiting to be sent, written in the transaction of the change.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    letter_id BIGINT REFERENCES letters(id),
    complaint_id BIGINT REFERENCES complaints(id),
    recipient TEXT NOT NULL,
    cc TEXT,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_letter ON outbox(letter_id);

CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    source TEXT NOT NULL,
    satisfaction TEXT NOT NULL,
    comment TEXT,
    author_id BIGINT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX feedback_complaint ON feedback(complaint_id, id);
