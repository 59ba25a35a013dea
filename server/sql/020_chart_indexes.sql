-- Schema 20: the overview's "closed by month" chart counts each month's closings on their own
-- index range instead of reading every step of the last six months (a projection's index).
CREATE INDEX hazard_steps_closes ON hazard_steps (at_ms) WHERE kind = 'close';
