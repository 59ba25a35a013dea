-- Schema 17: reports for any period, stable once issued (docs/reports.md).
-- What each hazard was after every event that applied, at the event's time: a report for a past
-- period reads the state as of its end, not today's. A projection: rebuilt with the others.
CREATE TABLE hazard_steps (
    hazard_id TEXT NOT NULL,
    n         INTEGER NOT NULL,
    at_ms     INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    state     TEXT NOT NULL,
    severity  TEXT NOT NULL,
    deadline  TEXT,
    -- When this relay first saw the step: an issued period is looked at again only when a step
    -- dated inside it was seen after it was issued.
    seen_ms   INTEGER NOT NULL,
    PRIMARY KEY (hazard_id, n)
) WITHOUT ROWID;
CREATE INDEX hazard_steps_by_time ON hazard_steps (at_ms, seen_ms);

-- When a hazard last changed (its last applied event): a report loads only the hazards that may
-- differ at its period's end from what they are now; the others are counted as they stand.
ALTER TABLE hazard_facts ADD COLUMN last_step_ms INTEGER NOT NULL DEFAULT 0;
-- 挂牌督办: its level (city / district) and document number, for the major-hazard ledger.
ALTER TABLE hazard_facts ADD COLUMN supervision_level TEXT;
ALTER TABLE hazard_facts ADD COLUMN supervision_no TEXT;

-- The venue's responsible person, for the overdue list (the venue record holds it; the shared
-- projection does not).
CREATE TABLE venue_facts (
    venue_id    TEXT PRIMARY KEY,
    responsible TEXT NOT NULL,
    phone       TEXT NOT NULL
) WITHOUT ROWID;

-- Reports the town office issued: the figures as they were handed over, with their number.
CREATE TABLE issued_reports (
    period_key TEXT PRIMARY KEY,
    year       INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    number     TEXT NOT NULL,
    issued_ms  BIGINT NOT NULL,
    issued_by  TEXT NOT NULL,
    report     TEXT NOT NULL,
    UNIQUE (year, n)
);

DELETE FROM meta WHERE key = 'projections';
