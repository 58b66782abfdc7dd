DROP INDEX complaints_channel_received;
DROP INDEX complaints_category_received;
DROP INDEX complaints_unit_status_received;
CREATE INDEX complaints_responsible ON complaints(responsible_unit_code, status);
DROP INDEX complaints_unit_received;
DROP INDEX complaints_received;
CREATE INDEX complaints_received ON complaints(received_at);
