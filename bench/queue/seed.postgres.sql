-- Queue benchmark data (PostgreSQL): :cases cases spread as a county office's
-- books would hold them after a few years, so that every bucket of the
-- supervisor's queue (docs/architecture.md, "The queue") holds cases. With
-- k = i % 100 and j = (i / 100) % 10, each a share of the whole:
--   k = 0   received: j < 8 unrouted, j >= 8 waiting for confirmation   1 %
--   k = 1   reported, the report awaiting review                        1 %
--   k = 2   in progress and overdue; the ladder fired on j >= 3 up to the
--           reminder, j >= 6 the supervision letter, j >= 8 accountability 1 %
--   k = 3   in progress, an extension requested                         1 %
--   k = 4   in progress: j < 5 return requested, j >= 5 a public note
--           awaiting approval                                           1 %
--   k = 5   in progress: j < 3 possible duplicate, 3..5 delivery failed,
--           j >= 6 chased twice by the citizen                          1 %
--   k = 6..15 in progress within its deadlines                          10 %
--   k = 16  assigned, not yet signed for, within its deadline            1 %
--   k = 17  closed, callback due                                        1 %
--   k = 18  closed: j < 5 unsatisfied, kept for review                   1 %
--   k >= 19 closed, callback done                                       81 %
-- Open cases were received in the last three weeks, closed ones over the
-- last year; every case but the unrouted has its assignment. The sweep is
-- switched off while the benchmark runs, so nothing here is escalated.
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE towns AS
    SELECT code, (row_number() OVER (ORDER BY code) - 1)::int AS n FROM units WHERE kind = 'township';
CREATE TEMP TABLE plan AS
SELECT i, i % 100 AS k, (i / 100) % 10 AS j, t.code AS unit,
    CASE WHEN i % 100 <= 16
         THEN now0 - (1 + i % 20) * interval '1 day' - (i % 1440) * interval '1 minute'
         ELSE now0 - (30 + i % 335) * interval '1 day' - (i % 1440) * interval '1 minute' END AS r,
    now0
FROM generate_series(1, :cases) AS i
CROSS JOIN (SELECT (now() AT TIME ZONE 'UTC')::timestamp AS now0) n
JOIN towns t ON t.n = (i / 7) % 20;
INSERT INTO complaints (tracking_no, query_code_hash, channel, status, title, content,
    category_code, subject_unit_code, anonymous, responsible_unit_code, received_at,
    created_at, updated_at, ack_due_at, due_at, acknowledged_at, return_requested,
    delivery_failed, needs_confirmation, extension_requested, note_awaiting_approval,
    follow_ups, possible_duplicate, reopen_review, callback_status, callback_due_at)
SELECT 'BQ' || lpad(i::text, 10, '0'), md5(i::text),
    CASE WHEN i % 3 = 0 THEN 'hotline' ELSE 'web' END,
    CASE WHEN k = 0 THEN 'received' WHEN k = 1 THEN 'reported' WHEN k = 16 THEN 'assigned'
         WHEN k <= 15 THEN 'in_progress' ELSE 'closed' END,
    '窗口工作人员办事拖延', '群众反映某窗口工作人员办事拖延，多次往返未办结。',
    'service_attitude', unit, false, CASE WHEN k = 0 THEN NULL ELSE unit END,
    r, r, r,
    CASE WHEN k = 0 THEN NULL WHEN k = 16 THEN now0 + interval '1 day' ELSE r + interval '1 day' END,
    CASE WHEN k = 0 THEN NULL WHEN k = 2 THEN now0 - (1 + i % 10) * interval '1 day'
         ELSE r + interval '30 days' END,
    CASE WHEN k IN (0, 16) THEN NULL ELSE r + interval '2 hours' END,
    k = 4 AND j < 5, k = 5 AND j BETWEEN 3 AND 5, k = 0 AND j >= 8, k = 3, k = 4 AND j >= 5,
    CASE WHEN k = 5 AND j >= 6 THEN 2 ELSE 0 END, k = 5 AND j < 3, k = 18 AND j < 5,
    CASE WHEN k = 17 THEN 'due' WHEN k >= 18 THEN 'reached' END,
    CASE WHEN k >= 17 THEN r + interval '16 days' END
FROM plan;
INSERT INTO assignments (complaint_id, unit_code, assigned_at, how, ack_workdays,
    handle_workdays, ack_due_at, due_at, acknowledged_at)
SELECT id, responsible_unit_code, received_at, 'auto', 1, 15, ack_due_at, due_at, acknowledged_at
FROM complaints WHERE tracking_no LIKE 'BQ%' AND status <> 'received';
-- The ladder's steps on the overdue cases' handling clock.
INSERT INTO escalations (complaint_id, assignment_id, unit_code, clock, level, deadline_at, fired_at)
SELECT c.id, a.id, a.unit_code, 'handling', lv, c.due_at, c.due_at + lv * interval '1 hour'
FROM plan p
JOIN complaints c ON c.tracking_no = 'BQ' || lpad(p.i::text, 10, '0')
JOIN assignments a ON a.complaint_id = c.id
CROSS JOIN generate_series(1, 3) AS lv
WHERE p.k = 2 AND ((lv = 1 AND p.j >= 3) OR (lv = 2 AND p.j >= 6) OR (lv = 3 AND p.j >= 8));
COMMIT;
VACUUM ANALYZE;
