-- Reporting aggregates (docs/architecture.md, "Ranking and statistics"):
-- what the ranking and the statistics count, kept in the transaction of
-- every change by triggers, so a read sums a year's hour and day buckets
-- instead of scanning a year of cases.
--
-- The views below are the one definition of what counts: each yields, per
-- source row, (metric, key, at, n) — "this row adds n to metric/key at
-- instant at". Triggers append the change of a row's contribution to
-- tally_deltas (its rows before the change with -n, after it with +n);
-- the service folds the deltas into tallies every few seconds; readers sum
-- tallies + pending deltas for whole hours and read the views themselves
-- for the minutes at either end of a period. The same views rebuild and
-- check the aggregates (`duban tallies check`).
--
-- Hours are UTC hours since 1970 (an hour number), days UTC days: every
-- local day boundary of a whole-hour time zone falls on an hour.

CREATE VIEW tally_complaints AS
    SELECT id, received_at AS at, 'c.channel' AS metric, channel AS key, 1 AS n FROM complaints
    UNION ALL SELECT id, received_at, 'c.status', status, 1 FROM complaints
    UNION ALL SELECT id, received_at, 'c.category', COALESCE(category_code, ''), 1 FROM complaints
    UNION ALL SELECT id, received_at, 'c.unit', COALESCE(responsible_unit_code, ''), 1 FROM complaints;

CREATE VIEW tally_letters AS
    SELECT id, created_at AS at, 'l.kind' AS metric, kind AS key, 1 AS n FROM letters;

CREATE VIEW tally_escalations AS
    SELECT id, fired_at AS at, 'e.level' AS metric, CAST(level AS TEXT) AS key, 1 AS n
    FROM escalations;

CREATE VIEW tally_accountability AS
    SELECT id, opened_at AS at, 'a.trigger' AS metric, trigger AS key, 1 AS n
    FROM accountability_cases
    UNION ALL SELECT id, decided_at, 'a.decision', COALESCE(decision, ''), 1
    FROM accountability_cases WHERE decided_at IS NOT NULL;

-- A chasing call counts against the unit responsible for its case now.
CREATE VIEW tally_calls AS
    SELECT id, complaint_id, started_at AS at, 'k.disposition' AS metric, disposition AS key,
        1 AS n FROM calls
    UNION ALL SELECT k.id, k.complaint_id, k.started_at, 'r.follow_ups', c.responsible_unit_code, 1
    FROM calls k JOIN complaints c ON c.id = k.complaint_id
    WHERE k.disposition = 'follow_up' AND c.responsible_unit_code IS NOT NULL;

-- Each case once, by its latest rating, for the unit responsible now.
CREATE VIEW tally_feedback AS
    SELECT f.complaint_id, f.created_at AS at, 'f.satisfaction' AS metric, f.satisfaction AS key,
        1 AS n FROM feedback f
    WHERE f.id = (SELECT MAX(l.id) FROM feedback l WHERE l.complaint_id = f.complaint_id)
    UNION ALL SELECT f.complaint_id, f.created_at, 'r.rated', c.responsible_unit_code, 1
    FROM feedback f JOIN complaints c ON c.id = f.complaint_id
    WHERE c.responsible_unit_code IS NOT NULL
      AND f.id = (SELECT MAX(l.id) FROM feedback l WHERE l.complaint_id = f.complaint_id)
    UNION ALL SELECT f.complaint_id, f.created_at, 'r.satisfied', c.responsible_unit_code, 1
    FROM feedback f JOIN complaints c ON c.id = f.complaint_id
    WHERE c.responsible_unit_code IS NOT NULL
      AND f.satisfaction IN ('satisfied', 'basically_satisfied')
      AND f.id = (SELECT MAX(l.id) FROM feedback l WHERE l.complaint_id = f.complaint_id);

-- A unit's work by the time a case was given to it. A clock counts once it
-- stopped (signed for / reported) or the assignment ended after the
-- deadline; a clock still running past its deadline is counted at read time
-- (it depends on the hour of reading). A case rightly returned does not
-- count against the unit's clocks; the return counts in the return rate.
-- A case counts for a unit the first time it is given to that unit.
CREATE VIEW tally_assignments AS
    SELECT id, assigned_at AS at, 'r.cases' AS metric, unit_code AS key, 1 AS n
    FROM assignments a WHERE NOT EXISTS (SELECT 1 FROM assignments p
        WHERE p.complaint_id = a.complaint_id AND p.unit_code = a.unit_code AND p.id < a.id)
    UNION ALL SELECT id, assigned_at, 'r.ack_due', unit_code, 1 FROM assignments
    WHERE COALESCE(end_reason, '') <> 'returned'
      AND (acknowledged_at IS NOT NULL OR (ended_at IS NOT NULL AND ack_due_at < ended_at))
    UNION ALL SELECT id, assigned_at, 'r.ack_on_time', unit_code, 1 FROM assignments
    WHERE COALESCE(end_reason, '') <> 'returned' AND acknowledged_at IS NOT NULL
      AND acknowledged_at <= ack_due_at
    UNION ALL SELECT id, assigned_at, 'r.handle_due', unit_code, 1 FROM assignments
    WHERE COALESCE(end_reason, '') <> 'returned'
      AND (reported_at IS NOT NULL OR (ended_at IS NOT NULL AND due_at < ended_at))
    UNION ALL SELECT id, assigned_at, 'r.handle_on_time', unit_code, 1 FROM assignments
    WHERE COALESCE(end_reason, '') <> 'returned' AND reported_at IS NOT NULL
      AND reported_at <= due_at
    UNION ALL SELECT id, assigned_at, 'r.returns', unit_code, 1 FROM assignments
    WHERE return_reason IS NOT NULL
    UNION ALL SELECT id, ended_at, 's.closed', unit_code, 1 FROM assignments
    WHERE end_reason = 'closed' AND ended_at IS NOT NULL;

-- Reviewed reports, by the time their assignment was made.
CREATE VIEW tally_reports AS
    SELECT r.id, a.assigned_at AS at, 'r.reviewed' AS metric, a.unit_code AS key, 1 AS n
    FROM reports r JOIN assignments a ON a.id = r.assignment_id WHERE r.review IS NOT NULL
    UNION ALL SELECT r.id, a.assigned_at, 'r.redo', a.unit_code, 1
    FROM reports r JOIN assignments a ON a.id = r.assignment_id WHERE r.review = 'redo';

-- Score events: movements by the time they were booked; a unit's points by
-- the year they belong to (placed at 1 July, inside that local year in any
-- time zone).
CREATE VIEW tally_scores AS
    SELECT id, created_at AS at, 'p.minus' AS metric, '' AS key, centipoints AS n
    FROM score_events WHERE centipoints < 0
    UNION ALL SELECT id, created_at, 'p.plus', '', centipoints FROM score_events
    WHERE centipoints > 0
    UNION ALL SELECT id, printf('%04d-07-01 00:00:00', year), 'r.points', unit_code, centipoints
    FROM score_events;

CREATE VIEW tally_all AS
    SELECT metric, key, at, n FROM tally_complaints
    UNION ALL SELECT metric, key, at, n FROM tally_letters
    UNION ALL SELECT metric, key, at, n FROM tally_escalations
    UNION ALL SELECT metric, key, at, n FROM tally_accountability
    UNION ALL SELECT metric, key, at, n FROM tally_calls
    UNION ALL SELECT metric, key, at, n FROM tally_feedback
    UNION ALL SELECT metric, key, at, n FROM tally_assignments
    UNION ALL SELECT metric, key, at, n FROM tally_reports
    UNION ALL SELECT metric, key, at, n FROM tally_scores;

-- Appended by the triggers, in the writing transaction; never updated.
CREATE TABLE tally_deltas (
    id INTEGER PRIMARY KEY,
    metric TEXT NOT NULL,
    key TEXT NOT NULL,
    at_hour BIGINT NOT NULL,
    n BIGINT NOT NULL
);

-- The folded sums: grain 'h' (bucket = hour number) and 'd' (day number).
CREATE TABLE tallies (
    metric TEXT NOT NULL,
    grain TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    key TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (metric, grain, bucket, key)
) WITHOUT ROWID;

-- Complaints: their own counts, and the counts that follow the
-- responsible unit (chasing calls, the latest rating).
CREATE TRIGGER complaints_tally_insert AFTER INSERT ON complaints BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_complaints WHERE id = NEW.id;
END;
CREATE TRIGGER complaints_tally_before
BEFORE UPDATE OF channel, status, category_code, responsible_unit_code, received_at ON complaints
WHEN OLD.channel IS NOT NEW.channel OR OLD.status IS NOT NEW.status
  OR OLD.category_code IS NOT NEW.category_code
  OR OLD.responsible_unit_code IS NOT NEW.responsible_unit_code
  OR OLD.received_at IS NOT NEW.received_at
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, -n
    FROM tally_complaints WHERE id = OLD.id;
END;
CREATE TRIGGER complaints_tally_after
AFTER UPDATE OF channel, status, category_code, responsible_unit_code, received_at ON complaints
WHEN OLD.channel IS NOT NEW.channel OR OLD.status IS NOT NEW.status
  OR OLD.category_code IS NOT NEW.category_code
  OR OLD.responsible_unit_code IS NOT NEW.responsible_unit_code
  OR OLD.received_at IS NOT NEW.received_at
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_complaints WHERE id = NEW.id;
END;
CREATE TRIGGER complaints_unit_tally_before BEFORE UPDATE OF responsible_unit_code ON complaints
WHEN OLD.responsible_unit_code IS NOT NEW.responsible_unit_code
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, -n
    FROM tally_calls WHERE complaint_id = OLD.id AND metric = 'r.follow_ups';
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, -n
    FROM tally_feedback WHERE complaint_id = OLD.id AND metric IN ('r.rated', 'r.satisfied');
END;
CREATE TRIGGER complaints_unit_tally_after AFTER UPDATE OF responsible_unit_code ON complaints
WHEN OLD.responsible_unit_code IS NOT NEW.responsible_unit_code
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_calls WHERE complaint_id = NEW.id AND metric = 'r.follow_ups';
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_feedback WHERE complaint_id = NEW.id AND metric IN ('r.rated', 'r.satisfied');
END;

CREATE TRIGGER assignments_tally_insert AFTER INSERT ON assignments BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_assignments WHERE id = NEW.id;
END;
CREATE TRIGGER assignments_tally_before
BEFORE UPDATE OF unit_code, assigned_at, ack_due_at, due_at, acknowledged_at, reported_at,
    return_reason, ended_at, end_reason ON assignments
WHEN OLD.unit_code IS NOT NEW.unit_code OR OLD.assigned_at IS NOT NEW.assigned_at
  OR OLD.ack_due_at IS NOT NEW.ack_due_at OR OLD.due_at IS NOT NEW.due_at
  OR OLD.acknowledged_at IS NOT NEW.acknowledged_at OR OLD.reported_at IS NOT NEW.reported_at
  OR OLD.return_reason IS NOT NEW.return_reason OR OLD.ended_at IS NOT NEW.ended_at
  OR OLD.end_reason IS NOT NEW.end_reason
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, -n
    FROM tally_assignments WHERE id = OLD.id;
END;
CREATE TRIGGER assignments_tally_after
AFTER UPDATE OF unit_code, assigned_at, ack_due_at, due_at, acknowledged_at, reported_at,
    return_reason, ended_at, end_reason ON assignments
WHEN OLD.unit_code IS NOT NEW.unit_code OR OLD.assigned_at IS NOT NEW.assigned_at
  OR OLD.ack_due_at IS NOT NEW.ack_due_at OR OLD.due_at IS NOT NEW.due_at
  OR OLD.acknowledged_at IS NOT NEW.acknowledged_at OR OLD.reported_at IS NOT NEW.reported_at
  OR OLD.return_reason IS NOT NEW.return_reason OR OLD.ended_at IS NOT NEW.ended_at
  OR OLD.end_reason IS NOT NEW.end_reason
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_assignments WHERE id = NEW.id;
END;

CREATE TRIGGER reports_tally_insert AFTER INSERT ON reports BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_reports WHERE id = NEW.id;
END;
CREATE TRIGGER reports_tally_before BEFORE UPDATE OF review, assignment_id ON reports
WHEN OLD.review IS NOT NEW.review OR OLD.assignment_id IS NOT NEW.assignment_id
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, -n
    FROM tally_reports WHERE id = OLD.id;
END;
CREATE TRIGGER reports_tally_after AFTER UPDATE OF review, assignment_id ON reports
WHEN OLD.review IS NOT NEW.review OR OLD.assignment_id IS NOT NEW.assignment_id
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_reports WHERE id = NEW.id;
END;

-- A new rating replaces the case's latest: its count leaves, the new enters.
CREATE TRIGGER feedback_tally_before BEFORE INSERT ON feedback BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, -n
    FROM tally_feedback WHERE complaint_id = NEW.complaint_id;
END;
CREATE TRIGGER feedback_tally_after AFTER INSERT ON feedback BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_feedback WHERE complaint_id = NEW.complaint_id;
END;

CREATE TRIGGER calls_tally_insert AFTER INSERT ON calls BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_calls WHERE id = NEW.id;
END;
CREATE TRIGGER calls_tally_before BEFORE UPDATE OF disposition, complaint_id, started_at ON calls
WHEN OLD.disposition IS NOT NEW.disposition OR OLD.complaint_id IS NOT NEW.complaint_id
  OR OLD.started_at IS NOT NEW.started_at
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, -n
    FROM tally_calls WHERE id = OLD.id;
END;
CREATE TRIGGER calls_tally_after AFTER UPDATE OF disposition, complaint_id, started_at ON calls
WHEN OLD.disposition IS NOT NEW.disposition OR OLD.complaint_id IS NOT NEW.complaint_id
  OR OLD.started_at IS NOT NEW.started_at
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_calls WHERE id = NEW.id;
END;

CREATE TRIGGER letters_tally_insert AFTER INSERT ON letters BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_letters WHERE id = NEW.id;
END;

CREATE TRIGGER escalations_tally_insert AFTER INSERT ON escalations BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_escalations WHERE id = NEW.id;
END;

CREATE TRIGGER accountability_tally_insert AFTER INSERT ON accountability_cases BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_accountability WHERE id = NEW.id;
END;
CREATE TRIGGER accountability_tally_before
BEFORE UPDATE OF decision, decided_at ON accountability_cases
WHEN OLD.decision IS NOT NEW.decision OR OLD.decided_at IS NOT NEW.decided_at
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, -n
    FROM tally_accountability WHERE id = OLD.id;
END;
CREATE TRIGGER accountability_tally_after
AFTER UPDATE OF decision, decided_at ON accountability_cases
WHEN OLD.decision IS NOT NEW.decision OR OLD.decided_at IS NOT NEW.decided_at
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_accountability WHERE id = NEW.id;
END;

CREATE TRIGGER score_events_tally_insert AFTER INSERT ON score_events BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, CAST(strftime('%s', at) AS INTEGER) / 3600, n
    FROM tally_scores WHERE id = NEW.id;
END;

-- What is already stored, counted once.
INSERT INTO tallies (metric, grain, bucket, key, n)
SELECT metric, 'h', CAST(strftime('%s', at) AS INTEGER) / 3600, key, SUM(n) FROM tally_all
GROUP BY metric, CAST(strftime('%s', at) AS INTEGER) / 3600, key;
INSERT INTO tallies (metric, grain, bucket, key, n)
SELECT metric, 'd', CAST(strftime('%s', at) AS INTEGER) / 86400, key, SUM(n) FROM tally_all
GROUP BY metric, CAST(strftime('%s', at) AS INTEGER) / 86400, key;

-- The ends of a period are read from the sources by time; the running
-- clocks from the open assignments past their deadline.
CREATE INDEX letters_created ON letters(created_at);
CREATE INDEX feedback_created ON feedback(created_at);
CREATE INDEX assignments_ended ON assignments(ended_at);
CREATE INDEX reports_assignment ON reports(assignment_id);
CREATE INDEX accountability_decided ON accountability_cases(decided_at);
CREATE INDEX score_events_created ON score_events(created_at);
CREATE INDEX assignments_ack_running ON assignments(ack_due_at)
    WHERE ended_at IS NULL AND acknowledged_at IS NULL;
CREATE INDEX assignments_handling_running ON assignments(due_at)
    WHERE ended_at IS NULL AND reported_at IS NULL;
