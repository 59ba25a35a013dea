-- Schema 2: photo variants. Each photo is stored as its evidence copy, its thumbnail and (by
-- policy) its original; `uploaded_ms` lets sync drop originals once the relay holds them.
ALTER TABLE blobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'original' CHECK (kind IN ('original', 'evidence', 'thumbnail'));
ALTER TABLE blobs ADD COLUMN uploaded_ms INTEGER;
