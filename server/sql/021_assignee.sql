-- Schema 21: who in a lead department handles a hazard (the latest 指派承办人): the reviewer's
-- "assigned to me" list and the ledger's handler filter. The same column as the phone's.
ALTER TABLE hazards_idx ADD COLUMN assignee TEXT;
CREATE INDEX hazards_by_assignee ON hazards_idx (assignee) WHERE assignee IS NOT NULL;
