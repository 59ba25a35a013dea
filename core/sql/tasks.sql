-- Public reports to verify on site (12345, 随申拍), filled by gridsafe_core::projection::index_task.
-- The phone (migration 004) and the relay (migration 010) create the same table from this file.
CREATE TABLE tasks_idx (
    id          TEXT PRIMARY KEY,
    ticket_no   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    address     TEXT NOT NULL,
    description TEXT NOT NULL,
    category    TEXT NOT NULL,
    village     TEXT NOT NULL,
    grid_id     TEXT NOT NULL,
    -- to_verify / substantiated / not_substantiated
    status      TEXT NOT NULL,
    reason      TEXT,
    hazard_id   TEXT,
    created_ms  INTEGER NOT NULL
);
CREATE INDEX tasks_by_grid ON tasks_idx (grid_id, status, received_at);
CREATE UNIQUE INDEX tasks_by_ticket ON tasks_idx (channel, ticket_no);
