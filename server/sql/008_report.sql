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

-- The ledger's default order, so a page (first or thousandth) is an index walk, not a sort.
CREATE INDEX hazards_by_order ON hazards_idx ((due_date IS NULL), due_date, found_ms, id);
-- The overview's and the report's per-village sums read this index alone, not the wide rows.
CREATE INDEX hazards_overview ON hazards_idx (village, grid_id, is_open, awaiting, severity, due_date, closed_at, found_ms);
CREATE INDEX hazards_by_found ON hazards_idx (found_ms);
-- Inspections by start, covering what the overview and the report count (no join to venues).
DROP INDEX inspections_by_started;
CREATE INDEX inspections_by_started ON inspections_idx (started_ms, grid_id, venue_id, template_id, finished);

-- Derive the new table for the records already stored (RelayStore::open rebuilds when this flag
-- is missing).
DELETE FROM meta WHERE key = 'projections';
