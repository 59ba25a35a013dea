-- Schema 9: who in a lead department handles a hazard (the latest 指派承办人), for "assigned to me".
ALTER TABLE hazards_idx ADD COLUMN assignee TEXT;
CREATE INDEX hazards_by_assignee ON hazards_idx (assignee) WHERE assignee IS NOT NULL;
