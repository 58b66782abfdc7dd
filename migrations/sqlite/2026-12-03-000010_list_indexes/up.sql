-- The staff case list at a province's scale (docs/architecture.md, "The case
-- list"): every filter the API offers is read from an index in the list's
-- order (newest first, received_at then id), so a page, by number or after
-- a cursor, reads only its own rows and the capped total at most 10,001 ids.
DROP INDEX complaints_received;
CREATE INDEX complaints_received ON complaints(received_at, id);
CREATE INDEX complaints_unit_received ON complaints(responsible_unit_code, received_at, id);
-- (It serves what complaints_responsible (unit, status) served.)
DROP INDEX complaints_responsible;
CREATE INDEX complaints_unit_status_received
    ON complaints(responsible_unit_code, status, received_at, id);
CREATE INDEX complaints_category_received ON complaints(category_code, received_at, id);
CREATE INDEX complaints_channel_received ON complaints(channel, received_at, id);
