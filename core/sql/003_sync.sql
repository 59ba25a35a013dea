-- Schema 3: sync state. `server_heads` are the relay's acknowledged heads for a record; `dirty`
-- is 1 while the phone holds changes the relay has not acknowledged.
ALTER TABLE docs ADD COLUMN server_heads TEXT NOT NULL DEFAULT '';
ALTER TABLE docs ADD COLUMN dirty INTEGER NOT NULL DEFAULT 1;
CREATE INDEX docs_dirty ON docs (dirty, updated_ms) WHERE dirty = 1;
