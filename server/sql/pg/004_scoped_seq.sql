-- The change sequence at which a record's scope last changed (its venue moved to another grid):
-- a device whose cursor is older gets the record whole when it came into its scope, and is told
-- to drop it when it left.
ALTER TABLE docs ADD COLUMN scoped_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX docs_by_scoped_seq ON docs (scoped_seq);
