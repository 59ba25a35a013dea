-- Who in a lead department handles a hazard (the latest 指派承办人): the handler's "assigned to me"
-- list and the ledger's filter. Phone schema 9, relay schema 21 (the same statement).
ALTER TABLE hazards_idx ADD COLUMN assignee TEXT;
CREATE INDEX hazards_by_assignee ON hazards_idx (assignee) WHERE assignee IS NOT NULL;
