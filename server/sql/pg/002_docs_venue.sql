-- Scope follows a record's venue: each record's venue (its own id for a venue), so that a
-- venue's grid and the departments of its hazards can be given to its whole file.
ALTER TABLE docs ADD COLUMN venue_id TEXT NOT NULL DEFAULT '';
CREATE INDEX docs_by_venue ON docs (venue_id);

-- A reference to a photo already referenced by records outside the pusher's scope gives no
-- access to it until the pusher's device sends the photo's bytes itself (proof it holds them).
ALTER TABLE blob_refs ADD COLUMN granted INTEGER NOT NULL DEFAULT 1;
