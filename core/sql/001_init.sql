-- GridSafe phone store, schema 1.
-- Documents are automerge bytes: a snapshot plus incremental chunks, compacted now and then.
-- Every *_idx table is a projection kept up to date from the documents in the same transaction,
-- so no list ever loads a document.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE templates (
    template_id  TEXT NOT NULL,
    version      TEXT NOT NULL,
    hash         TEXT NOT NULL,
    domain       TEXT NOT NULL,
    title_zh     TEXT NOT NULL,
    title_en     TEXT NOT NULL,
    items        INTEGER NOT NULL,
    body         BLOB NOT NULL,
    installed_ms INTEGER NOT NULL,
    PRIMARY KEY (template_id, version)
);

CREATE TABLE directory (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    body    BLOB NOT NULL
);

-- automerge actor (hex) -> user. Local actors are this phone's own, one per user who worked on it.
CREATE TABLE actors (
    actor   TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    local   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE docs (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('venue', 'inspection', 'hazard')),
    snapshot   BLOB NOT NULL,
    chunks     INTEGER NOT NULL DEFAULT 0,
    heads      TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);

CREATE TABLE doc_chunks (
    doc_id TEXT NOT NULL REFERENCES docs (id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
) WITHOUT ROWID;

-- Photos, content-addressed. Kept inside the store so they share its durability (and, later, its
-- encryption).
CREATE TABLE blobs (
    sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size       INTEGER NOT NULL,
    mime       TEXT NOT NULL,
    data       BLOB NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE venues_idx (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    address           TEXT NOT NULL,
    village           TEXT NOT NULL,
    grid_id           TEXT NOT NULL,
    venue_types       TEXT NOT NULL,
    archived          INTEGER NOT NULL,
    last_inspected_ms INTEGER
);
CREATE INDEX venues_by_grid ON venues_idx (grid_id, name);

CREATE TABLE inspections_idx (
    id               TEXT PRIMARY KEY,
    venue_id         TEXT NOT NULL,
    venue_name       TEXT NOT NULL,
    template_id      TEXT NOT NULL,
    template_version TEXT NOT NULL,
    inspector        TEXT NOT NULL,
    grid_id          TEXT NOT NULL,
    started_ms       INTEGER NOT NULL,
    day              TEXT NOT NULL,
    finished         INTEGER NOT NULL,
    failed           INTEGER NOT NULL,
    hazards          INTEGER NOT NULL
);
CREATE INDEX inspections_by_venue ON inspections_idx (venue_id, started_ms);
CREATE INDEX inspections_by_day ON inspections_idx (inspector, day);

CREATE TABLE hazards_idx (
    id             TEXT PRIMARY KEY,
    venue_id       TEXT NOT NULL,
    venue_name     TEXT NOT NULL,
    village        TEXT NOT NULL,
    grid_id        TEXT NOT NULL,
    inspection_id  TEXT,
    item_id        TEXT NOT NULL,
    domain         TEXT NOT NULL,
    title_zh       TEXT NOT NULL,
    title_en       TEXT NOT NULL,
    severity       TEXT NOT NULL,
    confirmation   TEXT NOT NULL,
    state          TEXT NOT NULL,
    is_open        INTEGER NOT NULL,
    -- 1 while the owner still has to act: the deadline runs and the hazard can become overdue.
    awaiting       INTEGER NOT NULL,
    due_date       TEXT,
    lead_depts     TEXT NOT NULL,
    source         TEXT NOT NULL,
    fix_mode       TEXT NOT NULL,
    focus          INTEGER NOT NULL,
    combined_group TEXT,
    found_ms       INTEGER NOT NULL,
    closed_at      TEXT,
    recurrence_of  TEXT,
    refused_events INTEGER NOT NULL,
    updated_ms     INTEGER NOT NULL
);
CREATE INDEX hazards_by_grid_due ON hazards_idx (grid_id, awaiting, due_date);
CREATE INDEX hazards_by_due ON hazards_idx (awaiting, due_date);
CREATE INDEX hazards_by_venue ON hazards_idx (venue_id, item_id);

CREATE TABLE hazard_depts (
    dept      TEXT NOT NULL,
    hazard_id TEXT NOT NULL,
    PRIMARY KEY (dept, hazard_id)
) WITHOUT ROWID;
