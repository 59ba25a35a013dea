-- Schema 8: the rectification notices' numbers (ADR 0015). Blocks of numbers the relay handed
-- this phone, taken in order offline; and the numbers given, each to one venue's notice (a
-- reprint of the same hazards keeps its number), until the relay's register holds them.
CREATE TABLE notice_blocks (
    year  INTEGER NOT NULL,
    first INTEGER NOT NULL,
    last  INTEGER NOT NULL,
    next  INTEGER NOT NULL,
    PRIMARY KEY (year, first)
) WITHOUT ROWID;

CREATE TABLE notices_issued (
    year      INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    venue_id  TEXT NOT NULL,
    -- The open hazards the notice lists (sorted ids, comma-separated).
    hazards   TEXT NOT NULL,
    issued_ms INTEGER NOT NULL,
    issued_by TEXT NOT NULL,
    reported  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (year, n)
) WITHOUT ROWID;
CREATE INDEX notices_by_venue ON notices_issued (venue_id, hazards);
