-- The sweep's ceiling on SQLite: as ceiling.postgres.sql, as a few
-- set-based statements in one transaction (SQLite has no writing CTEs).
-- Rolled back.
.timer on
BEGIN IMMEDIATE;
CREATE TEMP TABLE due AS
    SELECT c.id, c.tracking_no, c.due_at, a.id AS aid, a.unit_code FROM complaints c
    JOIN assignments a ON a.complaint_id = c.id AND a.ended_at IS NULL
    WHERE c.next_escalation_at IS NOT NULL
      AND c.next_escalation_at <= strftime('%Y-%m-%d %H:%M:%f', 'now');
INSERT INTO escalations (complaint_id, assignment_id, unit_code, clock, level, deadline_at, fired_at)
    SELECT id, aid, unit_code, 'handling', 1, due_at, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM due
    WHERE true ON CONFLICT DO NOTHING;
INSERT INTO letters (kind, year, seq, number, complaint_id, unit_code, recipient, subject, body, created_at)
    SELECT 'reminder', 2026, 900000000 + rowid, '兴效催〔2026〕' || (900000000 + rowid) || '号', id,
        unit_code, 'unit@xingguo.example', '【催办函】', printf('%.600c', '催'),
        strftime('%Y-%m-%d %H:%M:%f', 'now') FROM due;
INSERT INTO outbox (letter_id, complaint_id, recipient, subject, body, message_id, status,
    attempts, next_attempt_at, created_at)
    SELECT l.id, l.complaint_id, 'unit@xingguo.example', '【催办函】', l.body,
        '<ceiling.' || l.id || '@bench>', 'pending', 0, l.created_at, l.created_at
    FROM letters l WHERE l.seq > 900000000;
INSERT INTO audit_events (chain, seq, complaint_id, actor_role, action, summary, public_note,
    created_at, prev_hash, hash)
    SELECT 'case:' || tracking_no, 2, id, 'system', 'escalation_reminder', 'ceiling',
        '已向承办单位发出催办函', strftime('%Y-%m-%d %H:%M:%f', 'now'), printf('%064d', 0),
        lower(hex(randomblob(32))) FROM due;
UPDATE complaints SET next_escalation_at = NULL WHERE id IN (SELECT id FROM due);
ROLLBACK;
