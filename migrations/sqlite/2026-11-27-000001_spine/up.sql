-- The spine: reference data, accounts, complaints with their sealed identity,
-- hotline calls, the per-case audit chain, idempotency records, counters and
-- the tracking throttle. Times are UTC, stored as TIMESTAMP text.

CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent_code TEXT REFERENCES units(code),
    email TEXT NOT NULL,
    leader_name TEXT NOT NULL,
    leader_title TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE categories (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    aspect TEXT NOT NULL,
    statutory_workdays INTEGER NOT NULL,
    ack_workdays INTEGER NOT NULL,
    handle_workdays INTEGER NOT NULL,
    sort_order INTEGER NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    unit_code TEXT REFERENCES units(code),
    active BOOLEAN NOT NULL DEFAULT 1,
    token_version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE complaints (
    id INTEGER PRIMARY KEY,
    tracking_no TEXT NOT NULL UNIQUE,
    query_code_hash TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    category_code TEXT REFERENCES categories(code),
    subject_unit_code TEXT REFERENCES units(code),
    subject_person TEXT,
    township TEXT,
    occurred_on DATE,
    anonymous BOOLEAN NOT NULL,
    responsible_unit_code TEXT REFERENCES units(code),
    public_reply TEXT,
    received_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX complaints_status_received ON complaints(status, received_at);
CREATE INDEX complaints_received ON complaints(received_at);
CREATE INDEX complaints_responsible ON complaints(responsible_unit_code, status);

-- Identity lives apart from the case, sealed with AES-256-GCM; the unit-facing
-- queries never join this table.
CREATE TABLE complainants (
    complaint_id BIGINT PRIMARY KEY REFERENCES complaints(id) ON DELETE CASCADE,
    name_enc BLOB,
    phone_enc BLOB,
    email_enc BLOB,
    id_number_enc BLOB,
    address_enc BLOB,
    phone_hash TEXT
);
CREATE INDEX complainants_phone_hash ON complainants(phone_hash);

CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    operator_id BIGINT NOT NULL REFERENCES users(id),
    caller_phone_enc BLOB,
    caller_phone_hash TEXT,
    started_at TIMESTAMP NOT NULL,
    duration_seconds INTEGER NOT NULL,
    summary TEXT NOT NULL,
    disposition TEXT NOT NULL,
    complaint_id BIGINT REFERENCES complaints(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX calls_started ON calls(started_at);
CREATE INDEX calls_phone_hash ON calls(caller_phone_hash);

-- Append-only; each chain (one per case, plus "admin") is linked by hashes.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL,
    complaint_id BIGINT REFERENCES complaints(id),
    actor_id BIGINT,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    summary TEXT NOT NULL,
    public_note TEXT,
    created_at TIMESTAMP NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (chain, seq)
);
CREATE INDEX audit_events_complaint ON audit_events(complaint_id, seq);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE throttle (
    key TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    failures INTEGER NOT NULL
);
