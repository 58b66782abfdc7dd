-- Sweep benchmark data (SQLite): as seed.postgres.sql. The shell script
-- substitutes @CASES@ and @DUE@.
PRAGMA foreign_keys = ON;
BEGIN;
CREATE TEMP TABLE towns AS
    SELECT code, row_number() OVER (ORDER BY code) - 1 AS k FROM units WHERE kind = 'township';
CREATE TEMP TABLE bench_now AS SELECT strftime('%Y-%m-%d %H:%M:%f', 'now') AS t;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < @CASES@),
dd AS (
    SELECT i,
        CASE WHEN i <= @DUE@ THEN strftime('%Y-%m-%d %H:%M:%f', (SELECT t FROM bench_now), '-5 minutes')
             ELSE strftime('%Y-%m-%d %H:%M:%f', (SELECT t FROM bench_now), '+' || (2 + i % 30) || ' days') END AS d
    FROM seq
)
INSERT INTO complaints (tracking_no, query_code_hash, channel, status, title, content,
    category_code, subject_unit_code, anonymous, responsible_unit_code, received_at,
    created_at, updated_at, ack_due_at, due_at, acknowledged_at, return_requested,
    delivery_failed, needs_confirmation, next_escalation_at)
SELECT printf('BX%010d', i), hex(randomblob(16)), 'web', 'in_progress',
    '窗口工作人员办事拖延', '群众反映某窗口工作人员办事拖延，多次往返未办结。',
    'service_attitude', t.code, 0, t.code,
    strftime('%Y-%m-%d %H:%M:%f', d, '-7 days'), strftime('%Y-%m-%d %H:%M:%f', d, '-7 days'),
    strftime('%Y-%m-%d %H:%M:%f', d, '-7 days'), strftime('%Y-%m-%d %H:%M:%f', d, '-6 days'), d,
    strftime('%Y-%m-%d %H:%M:%f', d, '-7 days', '+2 hours'), 0, 0, 0,
    CASE WHEN i <= @DUE@ THEN d ELSE strftime('%Y-%m-%d %H:%M:%f', d, '-1 days') END
FROM dd JOIN towns t ON t.k = dd.i % 20;
INSERT INTO assignments (complaint_id, unit_code, assigned_at, how, ack_workdays,
    handle_workdays, ack_due_at, due_at, acknowledged_at)
SELECT id, responsible_unit_code, received_at, 'auto', 1, 5, ack_due_at, due_at, acknowledged_at
FROM complaints WHERE tracking_no LIKE 'BX%';
INSERT INTO audit_events (chain, seq, complaint_id, actor_role, action, summary,
    created_at, prev_hash, hash)
SELECT 'case:' || tracking_no, 1, id, 'public', 'received', 'bench seed', received_at,
    printf('%064d', 0), lower(hex(randomblob(32)))
FROM complaints WHERE tracking_no LIKE 'BX%';
COMMIT;
ANALYZE;
