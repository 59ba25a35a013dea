-- GridSafe phone store, schema 4: public reports to verify on site (task records).
-- The documents table's kind check gains 'task'. SQLite cannot change a CHECK in place: the table
-- and its chunks are copied into new tables (chunks first, so nothing is lost to the cascade),
-- the old ones dropped and the new ones renamed (which also renames the chunk table's reference).
CREATE TABLE docs_v4 (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('venue', 'inspection', 'hazard', 'task')),
    snapshot     BLOB NOT NULL,
    chunks       INTEGER NOT NULL DEFAULT 0,
    heads        TEXT NOT NULL,
    updated_ms   INTEGER NOT NULL,
    server_heads TEXT NOT NULL DEFAULT '',
    dirty        INTEGER NOT NULL DEFAULT 1
);
INSERT INTO docs_v4 (id, kind, snapshot, chunks, heads, updated_ms, server_heads, dirty)
    SELECT id, kind, snapshot, chunks, heads, updated_ms, server_heads, dirty FROM docs;
CREATE TABLE doc_chunks_v4 (
    doc_id TEXT NOT NULL REFERENCES docs_v4 (id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
) WITHOUT ROWID;
INSERT INTO doc_chunks_v4 (doc_id, seq, data) SELECT doc_id, seq, data FROM doc_chunks;
DROP TABLE doc_chunks;
DROP TABLE docs;
ALTER TABLE docs_v4 RENAME TO docs;
ALTER TABLE doc_chunks_v4 RENAME TO doc_chunks;
CREATE INDEX docs_dirty ON docs (dirty, updated_ms) WHERE dirty = 1;
