-- Changes set aside, never lost: this phone's own changes the relay refused (origin 'local', kept
-- when the record was rebuilt from what the relay accepted), and changes pulled from the relay
-- that this phone refused (origin 'pulled': history rewritten, a sealed record changed).
CREATE TABLE set_aside (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id  TEXT NOT NULL,
    origin  TEXT NOT NULL CHECK (origin IN ('local', 'pulled')),
    reason  TEXT NOT NULL,
    at_ms   INTEGER NOT NULL,
    bytes   BLOB NOT NULL
);
-- A change refused again on a later sync is kept once.
CREATE UNIQUE INDEX set_aside_once ON set_aside (doc_id, origin, bytes);
