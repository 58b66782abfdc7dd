-- Queue benchmark data (SQLite): as seed.postgres.sql, whose header says what
-- each share of the cases is. The shell script substitutes @CASES@.
PRAGMA foreign_keys = ON;
BEGIN;
CREATE TEMP TABLE towns AS
    SELECT code, row_number() OVER (ORDER BY code) - 1 AS n FROM units WHERE kind = 'township';
CREATE TEMP TABLE plan AS
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < @CASES@),
now0(t) AS (SELECT strftime('%Y-%m-%d %H:%M:%f', 'now'))
SELECT i, i % 100 AS k, (i / 100) % 10 AS j, t.code AS unit, now0.t AS now0,
    CASE WHEN i % 100 <= 16
         THEN strftime('%Y-%m-%d %H:%M:%f', now0.t, '-' || (1 + i % 20) || ' days', '-' || (i % 1440) || ' minutes')
         ELSE strftime('%Y-%m-%d %H:%M:%f', now0.t, '-' || (30 + i % 335) || ' days', '-' || (i % 1440) || ' minutes') END AS r
FROM seq CROSS JOIN now0 JOIN towns t ON t.n = (i / 7) % 20;
INSERT INTO complaints (tracking_no, query_code_hash, channel, status, title, content,
    category_code, subject_unit_code, anonymous, responsible_unit_code, received_at,
    created_at, updated_at, ack_due_at, due_at, acknowledged_at, return_requested,
    delivery_failed, needs_confirmation, extension_requested, note_awaiting_approval,
    follow_ups, possible_duplicate, reopen_review, callback_status, callback_due_at)
SELECT printf('BQ%010d', i), hex(randomblob(16)),
    CASE WHEN i % 3 = 0 THEN 'hotline' ELSE 'web' END,
    CASE WHEN k = 0 THEN 'received' WHEN k = 1 THEN 'reported' WHEN k = 16 THEN 'assigned'
         WHEN k <= 15 THEN 'in_progress' ELSE 'closed' END,
    '窗口工作人员办事拖延', '群众反映某窗口工作人员办事拖延，多次往返未办结。',
    'service_attitude', unit, 0, CASE WHEN k = 0 THEN NULL ELSE unit END,
    r, r, r,
    CASE WHEN k = 0 THEN NULL WHEN k = 16 THEN strftime('%Y-%m-%d %H:%M:%f', now0, '+1 days')
         ELSE strftime('%Y-%m-%d %H:%M:%f', r, '+1 days') END,
    CASE WHEN k = 0 THEN NULL
         WHEN k = 2 THEN strftime('%Y-%m-%d %H:%M:%f', now0, '-' || (1 + i % 10) || ' days')
         ELSE strftime('%Y-%m-%d %H:%M:%f', r, '+30 days') END,
    CASE WHEN k IN (0, 16) THEN NULL ELSE strftime('%Y-%m-%d %H:%M:%f', r, '+2 hours') END,
    k = 4 AND j < 5, k = 5 AND j BETWEEN 3 AND 5, k = 0 AND j >= 8, k = 3, k = 4 AND j >= 5,
    CASE WHEN k = 5 AND j >= 6 THEN 2 ELSE 0 END, k = 5 AND j < 3, k = 18 AND j < 5,
    CASE WHEN k = 17 THEN 'due' WHEN k >= 18 THEN 'reached' END,
    CASE WHEN k >= 17 THEN strftime('%Y-%m-%d %H:%M:%f', r, '+16 days') END
FROM plan;
INSERT INTO assignments (complaint_id, unit_code, assigned_at, how, ack_workdays,
    handle_workdays, ack_due_at, due_at, acknowledged_at)
SELECT id, responsible_unit_code, received_at, 'auto', 1, 15, ack_due_at, due_at, acknowledged_at
FROM complaints WHERE tracking_no LIKE 'BQ%' AND status <> 'received';
-- The ladder's steps on the overdue cases' handling clock.
WITH lv(lv) AS (VALUES (1), (2), (3))
INSERT INTO escalations (complaint_id, assignment_id, unit_code, clock, level, deadline_at, fired_at)
SELECT c.id, a.id, a.unit_code, 'handling', lv, c.due_at,
    strftime('%Y-%m-%d %H:%M:%f', c.due_at, '+' || lv || ' hours')
FROM plan p
JOIN complaints c ON c.tracking_no = printf('BQ%010d', p.i)
JOIN assignments a ON a.complaint_id = c.id
CROSS JOIN lv
WHERE p.k = 2 AND ((lv = 1 AND p.j >= 3) OR (lv = 2 AND p.j >= 6) OR (lv = 3 AND p.j >= 8));
COMMIT;
ANALYZE;
