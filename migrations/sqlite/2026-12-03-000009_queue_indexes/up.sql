-- The queue read from indexes that hold only each bucket's cases
-- (docs/architecture.md, "The queue"; measured by bench/queue.sh with 100,000
-- cases): the buckets 000007 left to a general index, and the partial indexes
-- whose condition now matches the bucket's condition term for term (SQLite
-- uses a partial index only then).
DROP INDEX complaints_extension_requested;
CREATE INDEX complaints_queue_extension ON complaints(received_at) WHERE extension_requested;
CREATE INDEX complaints_queue_reported ON complaints(received_at) WHERE status = 'reported';
DROP INDEX complaints_queue_duplicate;
CREATE INDEX complaints_queue_duplicate ON complaints(received_at)
    WHERE possible_duplicate AND status IN ('received', 'assigned', 'in_progress', 'reported');
DROP INDEX complaints_queue_chased;
CREATE INDEX complaints_queue_chased ON complaints(received_at)
    WHERE follow_ups >= 2 AND status IN ('received', 'assigned', 'in_progress', 'reported');
-- Overdue: past the handling deadline, or not signed for past the
-- acknowledge deadline; each half of the condition from its own index.
CREATE INDEX complaints_queue_overdue ON complaints(due_at)
    WHERE status IN ('assigned', 'in_progress');
CREATE INDEX complaints_queue_ack_overdue ON complaints(ack_due_at)
    WHERE status IN ('assigned', 'in_progress') AND acknowledged_at IS NULL;
