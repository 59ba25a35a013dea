-- GridSafe relay, schema 1. The change log is append-only and keyed by change hash, so a
-- replayed or concurrent push can never lose or duplicate a change; its sequence number is the
-- pull cursor.

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE directory (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    body    BLOB NOT NULL
);

-- Credentials only; roles and scopes live in the directory.
CREATE TABLE credentials (
    user_id    TEXT PRIMARY KEY,
    pw_hash    TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE devices (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    name           TEXT NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    created_ms     INTEGER NOT NULL,
    revoked_ms     INTEGER,
    last_sync_ms   INTEGER,
    pending_docs   INTEGER,
    pending_photos INTEGER,
    app_version    TEXT,
    protocol       INTEGER
);

-- Every automerge actor belongs to exactly one device (and so one user).
CREATE TABLE actors (
    actor     TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id),
    user_id   TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE docs (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    grid_id    TEXT NOT NULL,
    depts      TEXT NOT NULL,   -- ",cyzx,pcs," for hazards, "" otherwise
    heads      TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX docs_by_grid ON docs (grid_id);

CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    hash        TEXT NOT NULL UNIQUE,
    doc_id      TEXT NOT NULL,
    bytes       BLOB NOT NULL,
    device_id   TEXT NOT NULL,
    received_ms INTEGER NOT NULL
);
CREATE INDEX changes_by_doc ON changes (doc_id, seq);
