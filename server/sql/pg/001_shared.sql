-- GridSafe relay on PostgreSQL, schema 1: the tables every relay instance shares (ADR 0011).
-- The same tables as the SQLite schema (sql/001, 002, 005, 006, 009 for devices.owner_key), with
-- 64-bit integers and BYTEA. Office-only state (dashboard sessions, the audit log, owner reports,
-- projections) stays in each instance's local SQLite file.

CREATE TABLE directory (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL,
    body    BYTEA NOT NULL
);

CREATE TABLE credentials (
    user_id    TEXT PRIMARY KEY,
    pw_hash    TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE devices (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    name           TEXT NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    created_ms     BIGINT NOT NULL,
    revoked_ms     BIGINT,
    last_sync_ms   BIGINT,
    pending_docs   BIGINT,
    pending_photos BIGINT,
    app_version    TEXT,
    protocol       BIGINT,
    owner_key      TEXT
);

CREATE TABLE actors (
    actor     TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id),
    user_id   TEXT NOT NULL
);
CREATE INDEX actors_by_device ON actors (device_id);

CREATE TABLE docs (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    grid_id        TEXT NOT NULL,
    depts          TEXT NOT NULL,
    heads          TEXT NOT NULL,
    updated_ms     BIGINT NOT NULL,
    since_snapshot BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX docs_by_grid ON docs (grid_id);

-- The change log. `seq` is the pull cursor: writers hold one advisory lock from before their
-- first insert until commit, so sequence numbers become visible in order.
CREATE TABLE changes (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash        TEXT NOT NULL UNIQUE,
    doc_id      TEXT NOT NULL,
    bytes       BYTEA NOT NULL,
    device_id   TEXT NOT NULL,
    received_ms BIGINT NOT NULL
);
CREATE INDEX changes_by_doc ON changes (doc_id, seq);

CREATE TABLE snapshots (
    doc_id   TEXT PRIMARY KEY,
    bytes    BYTEA NOT NULL,
    upto_seq BIGINT NOT NULL
);

CREATE TABLE blobs (
    sha256       TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size         BIGINT NOT NULL,
    device_id    TEXT NOT NULL,
    completed_ms BIGINT NOT NULL
);

CREATE TABLE blob_refs (
    sha256 TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    PRIMARY KEY (sha256, doc_id)
);

CREATE TABLE enrol_codes (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    used_ms    BIGINT,
    device_id  TEXT
);
