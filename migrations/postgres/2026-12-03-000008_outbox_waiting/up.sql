-- What waits in the outbox, for /readyz and the metrics (docs/architecture.md,
-- "Mail"): counted and its oldest found without reading the sent rows.
CREATE INDEX outbox_waiting ON outbox(created_at) WHERE status = 'pending';
