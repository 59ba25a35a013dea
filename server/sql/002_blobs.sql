-- Schema 2: photos. Bytes live on the filesystem (DATA/blobs/ab/abcd…), behind the blob store;
-- this table records what is complete and which records reference which photo, so downloads can
-- be limited to users whose scope covers a referencing record.
CREATE TABLE blobs (
    sha256       TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    size         INTEGER NOT NULL,
    device_id    TEXT NOT NULL,
    completed_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE blob_refs (
    sha256 TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    PRIMARY KEY (sha256, doc_id)
) WITHOUT ROWID;
