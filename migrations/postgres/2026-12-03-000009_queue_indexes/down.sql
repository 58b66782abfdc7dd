DROP INDEX complaints_queue_ack_overdue;
DROP INDEX complaints_queue_overdue;
DROP INDEX complaints_queue_chased;
CREATE INDEX complaints_queue_chased ON complaints(received_at) WHERE follow_ups >= 2;
DROP INDEX complaints_queue_duplicate;
CREATE INDEX complaints_queue_duplicate ON complaints(received_at) WHERE possible_duplicate;
DROP INDEX complaints_queue_reported;
DROP INDEX complaints_queue_extension;
CREATE INDEX complaints_extension_requested ON complaints(extension_requested)
    WHERE extension_requested;
