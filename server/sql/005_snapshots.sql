-- Schema 5: snapshots. A record is rebuilt from its latest snapshot plus the changes logged after
-- it, instead of replaying its whole history. The change log stays complete and append-only (it
-- is the source of truth and what pulls read); a snapshot is only a shortcut and may be dropped.
CREATE TABLE snapshots (
    doc_id   TEXT PRIMARY KEY,
    bytes    BLOB NOT NULL,
    upto_seq INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE docs ADD COLUMN since_snapshot INTEGER NOT NULL DEFAULT 0;
