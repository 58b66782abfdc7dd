-- The sweep's ceiling on PostgreSQL: the rows one sweep writes for the
-- cases due (an escalation, a letter, its e-mail and an audit event each,
-- and the schedule update), written set-based in one statement with no
-- application round trips, rendering or hash chaining. Rolled back, so the
-- real sweep then finds the same cases due.
\set ON_ERROR_STOP on
BEGIN;
\timing on
WITH now_ AS (SELECT (now() AT TIME ZONE 'UTC')::timestamp AS t),
due AS (
    SELECT c.id, c.tracking_no, c.due_at FROM complaints c, now_
    WHERE c.next_escalation_at IS NOT NULL AND c.next_escalation_at <= now_.t
    FOR UPDATE OF c SKIP LOCKED
),
asg AS (
    SELECT a.id, a.complaint_id, a.unit_code FROM assignments a
    JOIN due ON due.id = a.complaint_id WHERE a.ended_at IS NULL
),
esc AS (
    INSERT INTO escalations (complaint_id, assignment_id, unit_code, clock, level, deadline_at, fired_at)
    SELECT asg.complaint_id, asg.id, asg.unit_code, 'handling', 1, due.due_at, now_.t
    FROM asg JOIN due ON due.id = asg.complaint_id, now_
    ON CONFLICT DO NOTHING RETURNING id, complaint_id, unit_code
),
numbered AS (
    SELECT esc.*, 900000000 + row_number() OVER (ORDER BY esc.id) AS seq FROM esc
),
let AS (
    INSERT INTO letters (kind, year, seq, number, complaint_id, unit_code, recipient, subject, body, created_at)
    SELECT 'reminder', 2026, seq, '兴效催〔2026〕' || seq || '号', complaint_id, unit_code,
        'unit@xingguo.example', '【催办函】', repeat('催办函正文', 60), now_.t
    FROM numbered, now_
    RETURNING id, complaint_id, number
),
mail AS (
    INSERT INTO outbox (letter_id, complaint_id, recipient, subject, body, message_id, status,
        attempts, next_attempt_at, created_at)
    SELECT let.id, let.complaint_id, 'unit@xingguo.example', '【催办函】', repeat('催办函正文', 60),
        '<ceiling.' || let.id || '@bench>', 'pending', 0, now_.t, now_.t
    FROM let, now_ RETURNING 1
),
aud AS (
    INSERT INTO audit_events (chain, seq, complaint_id, actor_role, action, summary, public_note,
        created_at, prev_hash, hash)
    SELECT 'case:' || due.tracking_no, 2, due.id, 'system', 'escalation_reminder', 'ceiling',
        '已向承办单位发出催办函', now_.t, repeat('0', 64), md5(due.tracking_no)
    FROM due, now_ RETURNING 1
)
UPDATE complaints SET next_escalation_at = NULL
WHERE id IN (SELECT id FROM due)
  AND (SELECT count(*) FROM mail) >= 0 AND (SELECT count(*) FROM aud) >= 0;
\timing off
ROLLBACK;
