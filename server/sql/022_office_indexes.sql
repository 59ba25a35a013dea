-- Schema 22: the overview's combined-risk alerts read the few open hazards that belong to a
-- combined group on their own partial index; without it SQLite walked every hazard by venue and
-- fetched each row (206 ms of the town office's start page at 100,000 hazards, issue #32).
CREATE INDEX hazards_combined_open ON hazards_idx (venue_id)
    WHERE is_open = 1 AND combined_group IS NOT NULL;
