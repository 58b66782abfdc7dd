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

-- (PostgreSQL: the trigger functions below differ from SQLite's triggers
-- only in form; the views are the same.)

CREATE FUNCTION tally_hour(t TIMESTAMP) RETURNS BIGINT LANGUAGE sql IMMUTABLE
    AS $$ SELECT floor(extract(epoch FROM t) / 3600)::bigint $$;

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
    UNION ALL SELECT id, make_timestamp(year, 7, 1, 0, 0, 0), 'r.points', unit_code, centipoints
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
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    metric TEXT NOT NULL,
    key TEXT NOT NULL,
    at_hour BIGINT NOT NULL,
    n BIGINT NOT NULL
);

-- Every read scans what is left of the deltas: vacuum it after every few
-- thousand folded rows, not after a fifth of the table has died.
ALTER TABLE tally_deltas SET (autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_insert_threshold = 5000);

-- The folded sums: grain 'h' (bucket = hour number) and 'd' (day number).
CREATE TABLE tallies (
    metric TEXT NOT NULL,
    grain TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    key TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (metric, grain, bucket, key)
);

-- Complaints: their own counts, and the counts that follow the
-- responsible unit (chasing calls, the latest rating).
CREATE FUNCTION tally_complaint_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, tally_hour(at), CASE WHEN TG_WHEN = 'BEFORE' THEN -n ELSE n END
    FROM tally_complaints WHERE id = NEW.id;
    RETURN NEW;
END $$;
CREATE FUNCTION tally_complaint_unit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, tally_hour(at), CASE WHEN TG_WHEN = 'BEFORE' THEN -n ELSE n END
    FROM tally_calls WHERE complaint_id = NEW.id AND metric = 'r.follow_ups';
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, tally_hour(at), CASE WHEN TG_WHEN = 'BEFORE' THEN -n ELSE n END
    FROM tally_feedback WHERE complaint_id = NEW.id AND metric IN ('r.rated', 'r.satisfied');
    RETURN NEW;
END $$;
CREATE TRIGGER complaints_tally_insert AFTER INSERT ON complaints
    FOR EACH ROW EXECUTE FUNCTION tally_complaint_row();
CREATE TRIGGER complaints_tally_before BEFORE UPDATE OF channel, status, category_code, responsible_unit_code, received_at ON complaints
    FOR EACH ROW WHEN (OLD.channel IS DISTINCT FROM NEW.channel OR OLD.status IS DISTINCT FROM NEW.status OR OLD.category_code IS DISTINCT FROM NEW.category_code OR OLD.responsible_unit_code IS DISTINCT FROM NEW.responsible_unit_code OR OLD.received_at IS DISTINCT FROM NEW.received_at)
    EXECUTE FUNCTION tally_complaint_row();
CREATE TRIGGER complaints_tally_after AFTER UPDATE OF channel, status, category_code, responsible_unit_code, received_at ON complaints
    FOR EACH ROW WHEN (OLD.channel IS DISTINCT FROM NEW.channel OR OLD.status IS DISTINCT FROM NEW.status OR OLD.category_code IS DISTINCT FROM NEW.category_code OR OLD.responsible_unit_code IS DISTINCT FROM NEW.responsible_unit_code OR OLD.received_at IS DISTINCT FROM NEW.received_at)
    EXECUTE FUNCTION tally_complaint_row();
CREATE TRIGGER complaints_unit_tally_before BEFORE UPDATE OF responsible_unit_code ON complaints
    FOR EACH ROW WHEN (OLD.responsible_unit_code IS DISTINCT FROM NEW.responsible_unit_code)
    EXECUTE FUNCTION tally_complaint_unit();
CREATE TRIGGER complaints_unit_tally_after AFTER UPDATE OF responsible_unit_code ON complaints
    FOR EACH ROW WHEN (OLD.responsible_unit_code IS DISTINCT FROM NEW.responsible_unit_code)
    EXECUTE FUNCTION tally_complaint_unit();

CREATE FUNCTION tally_assignment_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, tally_hour(at), CASE WHEN TG_WHEN = 'BEFORE' THEN -n ELSE n END
    FROM tally_assignments WHERE id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER assignments_tally_insert AFTER INSERT ON assignments
    FOR EACH ROW EXECUTE FUNCTION tally_assignment_row();
CREATE TRIGGER assignments_tally_before BEFORE UPDATE OF unit_code, assigned_at, ack_due_at, due_at, acknowledged_at, reported_at, return_reason, ended_at, end_reason ON assignments
    FOR EACH ROW WHEN (OLD.unit_code IS DISTINCT FROM NEW.unit_code OR OLD.assigned_at IS DISTINCT FROM NEW.assigned_at OR OLD.ack_due_at IS DISTINCT FROM NEW.ack_due_at OR OLD.due_at IS DISTINCT FROM NEW.due_at OR OLD.acknowledged_at IS DISTINCT FROM NEW.acknowledged_at OR OLD.reported_at IS DISTINCT FROM NEW.reported_at OR OLD.return_reason IS DISTINCT FROM NEW.return_reason OR OLD.ended_at IS DISTINCT FROM NEW.ended_at OR OLD.end_reason IS DISTINCT FROM NEW.end_reason)
    EXECUTE FUNCTION tally_assignment_row();
CREATE TRIGGER assignments_tally_after AFTER UPDATE OF unit_code, assigned_at, ack_due_at, due_at, acknowledged_at, reported_at, return_reason, ended_at, end_reason ON assignments
    FOR EACH ROW WHEN (OLD.unit_code IS DISTINCT FROM NEW.unit_code OR OLD.assigned_at IS DISTINCT FROM NEW.assigned_at OR OLD.ack_due_at IS DISTINCT FROM NEW.ack_due_at OR OLD.due_at IS DISTINCT FROM NEW.due_at OR OLD.acknowledged_at IS DISTINCT FROM NEW.acknowledged_at OR OLD.reported_at IS DISTINCT FROM NEW.reported_at OR OLD.return_reason IS DISTINCT FROM NEW.return_reason OR OLD.ended_at IS DISTINCT FROM NEW.ended_at OR OLD.end_reason IS DISTINCT FROM NEW.end_reason)
    EXECUTE FUNCTION tally_assignment_row();

CREATE FUNCTION tally_report_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, tally_hour(at), CASE WHEN TG_WHEN = 'BEFORE' THEN -n ELSE n END
    FROM tally_reports WHERE id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER reports_tally_insert AFTER INSERT ON reports
    FOR EACH ROW EXECUTE FUNCTION tally_report_row();
CREATE TRIGGER reports_tally_before BEFORE UPDATE OF review, assignment_id ON reports
    FOR EACH ROW WHEN (OLD.review IS DISTINCT FROM NEW.review OR OLD.assignment_id IS DISTINCT FROM NEW.assignment_id)
    EXECUTE FUNCTION tally_report_row();
CREATE TRIGGER reports_tally_after AFTER UPDATE OF review, assignment_id ON reports
    FOR EACH ROW WHEN (OLD.review IS DISTINCT FROM NEW.review OR OLD.assignment_id IS DISTINCT FROM NEW.assignment_id)
    EXECUTE FUNCTION tally_report_row();

-- A new rating replaces the case's latest: its count leaves, the new enters.
CREATE FUNCTION tally_feedback_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, tally_hour(at), CASE WHEN TG_WHEN = 'BEFORE' THEN -n ELSE n END
    FROM tally_feedback WHERE complaint_id = NEW.complaint_id;
    RETURN NEW;
END $$;
CREATE TRIGGER feedback_tally_before BEFORE INSERT ON feedback
    FOR EACH ROW EXECUTE FUNCTION tally_feedback_case();
CREATE TRIGGER feedback_tally_after AFTER INSERT ON feedback
    FOR EACH ROW EXECUTE FUNCTION tally_feedback_case();

CREATE FUNCTION tally_call_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, tally_hour(at), CASE WHEN TG_WHEN = 'BEFORE' THEN -n ELSE n END
    FROM tally_calls WHERE id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER calls_tally_insert AFTER INSERT ON calls
    FOR EACH ROW EXECUTE FUNCTION tally_call_row();
CREATE TRIGGER calls_tally_before BEFORE UPDATE OF disposition, complaint_id, started_at ON calls
    FOR EACH ROW WHEN (OLD.disposition IS DISTINCT FROM NEW.disposition OR OLD.complaint_id IS DISTINCT FROM NEW.complaint_id OR OLD.started_at IS DISTINCT FROM NEW.started_at)
    EXECUTE FUNCTION tally_call_row();
CREATE TRIGGER calls_tally_after AFTER UPDATE OF disposition, complaint_id, started_at ON calls
    FOR EACH ROW WHEN (OLD.disposition IS DISTINCT FROM NEW.disposition OR OLD.complaint_id IS DISTINCT FROM NEW.complaint_id OR OLD.started_at IS DISTINCT FROM NEW.started_at)
    EXECUTE FUNCTION tally_call_row();

CREATE FUNCTION tally_letter_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, tally_hour(at), CASE WHEN TG_WHEN = 'BEFORE' THEN -n ELSE n END
    FROM tally_letters WHERE id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER letters_tally_insert AFTER INSERT ON letters
    FOR EACH ROW EXECUTE FUNCTION tally_letter_row();

CREATE FUNCTION tally_escalation_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, tally_hour(at), CASE WHEN TG_WHEN = 'BEFORE' THEN -n ELSE n END
    FROM tally_escalations WHERE id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER escalations_tally_insert AFTER INSERT ON escalations
    FOR EACH ROW EXECUTE FUNCTION tally_escalation_row();

CREATE FUNCTION tally_accountability_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, tally_hour(at), CASE WHEN TG_WHEN = 'BEFORE' THEN -n ELSE n END
    FROM tally_accountability WHERE id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER accountability_tally_insert AFTER INSERT ON accountability_cases
    FOR EACH ROW EXECUTE FUNCTION tally_accountability_row();
CREATE TRIGGER accountability_tally_before BEFORE UPDATE OF decision, decided_at ON accountability_cases
    FOR EACH ROW WHEN (OLD.decision IS DISTINCT FROM NEW.decision OR OLD.decided_at IS DISTINCT FROM NEW.decided_at)
    EXECUTE FUNCTION tally_accountability_row();
CREATE TRIGGER accountability_tally_after AFTER UPDATE OF decision, decided_at ON accountability_cases
    FOR EACH ROW WHEN (OLD.decision IS DISTINCT FROM NEW.decision OR OLD.decided_at IS DISTINCT FROM NEW.decided_at)
    EXECUTE FUNCTION tally_accountability_row();

CREATE FUNCTION tally_score_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tally_deltas (metric, key, at_hour, n)
    SELECT metric, key, tally_hour(at), CASE WHEN TG_WHEN = 'BEFORE' THEN -n ELSE n END
    FROM tally_scores WHERE id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER score_events_tally_insert AFTER INSERT ON score_events
    FOR EACH ROW EXECUTE FUNCTION tally_score_row();

-- What is already stored, counted once.
INSERT INTO tallies (metric, grain, bucket, key, n)
SELECT metric, 'h', tally_hour(at), key, SUM(n) FROM tally_all
GROUP BY metric, tally_hour(at), key;
INSERT INTO tallies (metric, grain, bucket, key, n)
SELECT metric, 'd', tally_hour(at) / 24, key, SUM(n) FROM tally_all
GROUP BY metric, tally_hour(at) / 24, key;

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
