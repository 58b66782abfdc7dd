-- Sweep benchmark data (PostgreSQL): :cases open cases routed to the 20
-- townships, signed for, each with its assignment and one audit event.
-- The first :due cases became overdue a few minutes ago (their handling
-- deadline passed); the others are due over the next 30 days, and the
-- schedule index says when the sweep should next look at each (the warning
-- a working day before the deadline, approximated as a day).
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE towns AS
    SELECT code, (row_number() OVER (ORDER BY code) - 1)::int AS k FROM units WHERE kind = 'township';
CREATE TEMP TABLE bench_now AS SELECT (now() AT TIME ZONE 'UTC')::timestamp AS t;
INSERT INTO complaints (tracking_no, query_code_hash, channel, status, title, content,
    category_code, subject_unit_code, anonymous, responsible_unit_code, received_at,
    created_at, updated_at, ack_due_at, due_at, acknowledged_at, return_requested,
    delivery_failed, needs_confirmation, next_escalation_at)
SELECT 'BX' || lpad(i::text, 10, '0'), md5(i::text), 'web', 'in_progress',
    '窗口工作人员办事拖延', '群众反映某窗口工作人员办事拖延，多次往返未办结。',
    'service_attitude', u.code, false, u.code, r, r, r, r + interval '1 day', d,
    r + interval '2 hours', false, false, false,
    CASE WHEN i <= :due THEN d ELSE d - interval '1 day' END
FROM generate_series(1, :cases) AS i
CROSS JOIN bench_now n
JOIN towns u ON u.k = i % 20
CROSS JOIN LATERAL (
    SELECT CASE WHEN i <= :due THEN n.t - interval '5 minutes'
                ELSE n.t + (2 + i % 30) * interval '1 day' END AS d
) dd(d)
CROSS JOIN LATERAL (SELECT dd.d - interval '7 days') rr(r);
INSERT INTO assignments (complaint_id, unit_code, assigned_at, how, ack_workdays,
    handle_workdays, ack_due_at, due_at, acknowledged_at)
SELECT id, responsible_unit_code, received_at, 'auto', 1, 5, ack_due_at, due_at,
    acknowledged_at
FROM complaints WHERE tracking_no LIKE 'BX%';
INSERT INTO audit_events (chain, seq, complaint_id, actor_role, action, summary,
    created_at, prev_hash, hash)
SELECT 'case:' || tracking_no, 1, id, 'public', 'received', 'bench seed', received_at,
    repeat('0', 64), md5(tracking_no) || md5(tracking_no)
FROM complaints WHERE tracking_no LIKE 'BX%';
COMMIT;
VACUUM ANALYZE;
