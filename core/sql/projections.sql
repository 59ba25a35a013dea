-- The projection tables (list views derived from the records), filled by gridsafe_core::projection.
-- The phone's first migration (001_init.sql) created the same tables; the relay creates them from
-- this file. A test keeps the two identical.

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
