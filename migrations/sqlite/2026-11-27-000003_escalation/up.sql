-- The escalation ladder (docs/architecture.md, "Escalation"): the sweep's schedule on the case, the
-- steps fired, accountability cases and the units' score events.

-- When the sweep should next look at the case: set to "now" by every change
-- of an open case, set by the sweep to the time of the case's next step, and
-- cleared when the case leaves the open statuses. The sweep reads this index
-- only, so its cost follows the cases due, not the cases stored.
ALTER TABLE complaints ADD COLUMN next_escalation_at TIMESTAMP;
CREATE INDEX complaints_next_escalation ON complaints(next_escalation_at)
    WHERE next_escalation_at IS NOT NULL;
-- Open cases from before this migration: let the first sweep schedule them.
UPDATE complaints SET next_escalation_at = '2000-01-01 00:00:00'
    WHERE status IN ('assigned', 'in_progress');

-- One row per step fired. The unique key makes each step happen once per
-- case, clock, deadline and level, however many sweeps run at once.
CREATE TABLE escalations (
    id INTEGER PRIMARY KEY,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    assignment_id BIGINT NOT NULL REFERENCES assignments(id),
    unit_code TEXT NOT NULL REFERENCES units(code),
    clock TEXT NOT NULL,
    level INTEGER NOT NULL,
    deadline_at TIMESTAMP NOT NULL,
    fired_at TIMESTAMP NOT NULL,
    letter_id BIGINT REFERENCES letters(id),
    UNIQUE (complaint_id, clock, deadline_at, level)
);
CREATE INDEX escalations_fired ON escalations(fired_at, id);
CREATE INDEX escalations_unit ON escalations(unit_code, id);

CREATE TABLE accountability_cases (
    id INTEGER PRIMARY KEY,
    unit_code TEXT NOT NULL REFERENCES units(code),
    person TEXT,
    complaint_id BIGINT REFERENCES complaints(id),
    trigger TEXT NOT NULL,
    escalation_id BIGINT UNIQUE REFERENCES escalations(id),
    situation_code TEXT,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    year INTEGER NOT NULL,
    provisional_centipoints INTEGER NOT NULL,
    opened_by BIGINT,
    opened_at TIMESTAMP NOT NULL,
    defence_due_at TIMESTAMP NOT NULL,
    letter_id BIGINT REFERENCES letters(id),
    defence TEXT,
    defence_by BIGINT,
    defence_at TIMESTAMP,
    decision TEXT,
    decision_centipoints INTEGER,
    decision_note TEXT,
    decided_by BIGINT,
    decided_at TIMESTAMP
);
CREATE INDEX accountability_unit ON accountability_cases(unit_code, id);
CREATE INDEX accountability_opened ON accountability_cases(opened_at, id);

-- Append-only changes to a unit's efficiency score for a year, in hundredths
-- of a point (negative: a deduction). Nothing updates or deletes them: a
-- dismissal books a compensating event.
CREATE TABLE score_events (
    id INTEGER PRIMARY KEY,
    unit_code TEXT NOT NULL REFERENCES units(code),
    year INTEGER NOT NULL,
    centipoints INTEGER NOT NULL,
    kind TEXT NOT NULL,
    accountability_id BIGINT REFERENCES accountability_cases(id),
    complaint_id BIGINT REFERENCES complaints(id),
    note TEXT NOT NULL,
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX score_events_year ON score_events(year, unit_code);
CREATE INDEX score_events_accountability ON score_events(accountability_id);

-- Reporting reads assignments by the time they were made.
CREATE INDEX assignments_assigned ON assignments(assigned_at);
