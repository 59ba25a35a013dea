-- Schema 11: findings of a venue's own self-inspection, sent from the owner's page, waiting for
-- a lead department to register them as hazards (source self_report) or dismiss them.
CREATE TABLE owner_findings (
    id               TEXT PRIMARY KEY,
    venue_id         TEXT NOT NULL,
    device_id        TEXT NOT NULL,
    template_id      TEXT NOT NULL,
    template_version TEXT NOT NULL,
    item_id          TEXT NOT NULL,
    lead_depts       TEXT NOT NULL,
    note             TEXT NOT NULL,
    received_ms      INTEGER NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    decided_by       TEXT,
    decided_ms       INTEGER,
    reason           TEXT,
    hazard_id        TEXT
);
CREATE INDEX owner_findings_by_status ON owner_findings (status, received_ms);
CREATE INDEX owner_findings_by_venue ON owner_findings (venue_id, received_ms);
