-- Schema 8: per-hazard facts the monthly report and the major-hazard ledger need beyond the shared
-- projection (the phone has no reports): cited basis, treatment plan, escalations, when the
-- rectification was claimed, and the first before/after photos for the typical cases.
CREATE TABLE hazard_facts (
    hazard_id    TEXT PRIMARY KEY,
    basis        TEXT NOT NULL,
    plan         INTEGER NOT NULL,
    escalations  INTEGER NOT NULL,
    reopened     INTEGER NOT NULL,
    rectified_at TEXT,
    before_thumb TEXT,
    after_photo  TEXT,
    ticket_no    TEXT
) WITHOUT ROWID;

-- The report reads hazards by when they were found and closed.
CREATE INDEX hazards_by_found ON hazards_idx (found_ms);
CREATE INDEX hazards_by_closed ON hazards_idx (closed_at) WHERE closed_at IS NOT NULL;

-- Derive the new table for the records already stored (RelayStore::open rebuilds when this flag
-- is missing).
DELETE FROM meta WHERE key = 'projections';
