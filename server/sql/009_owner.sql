-- Schema 9: the venue owner's self-report channel (issue #9).
-- Each device's owner key signs the owner links its notices carry (see gridsafe_core::owner_link).
ALTER TABLE devices ADD COLUMN owner_key TEXT;

-- What owners sent from their page: an after photo and a note per hazard, waiting for the lead
-- department to accept it (a lifecycle owner_claim) or reject it (with the reason shown to them).
CREATE TABLE owner_reports (
    id          TEXT PRIMARY KEY,
    venue_id    TEXT NOT NULL,
    hazard_id   TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    photo       TEXT NOT NULL,
    thumb       TEXT NOT NULL,
    note        TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    decided_by  TEXT,
    decided_ms  INTEGER,
    reason      TEXT
);
CREATE INDEX owner_reports_by_hazard ON owner_reports (hazard_id, received_ms);
CREATE INDEX owner_reports_by_venue ON owner_reports (venue_id, received_ms);

-- Links of a venue issued before this time no longer work (a lost or misused notice).
CREATE TABLE owner_link_revocations (
    venue_id   TEXT PRIMARY KEY,
    revoked_ms INTEGER NOT NULL,
    revoked_by TEXT NOT NULL
) WITHOUT ROWID;
