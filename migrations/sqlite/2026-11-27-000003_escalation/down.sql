DROP INDEX assignments_assigned;
DROP TABLE score_events;
DROP TABLE accountability_cases;
DROP TABLE escalations;
DROP INDEX complaints_next_escalation;
ALTER TABLE complaints DROP COLUMN next_escalation_at;
