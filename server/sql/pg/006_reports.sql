-- Reports the town office issued (docs/reports.md): shared by every relay on this database.
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
