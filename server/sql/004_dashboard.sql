-- Schema 4: what the office dashboard and the monthly report filter and count by, on top of the
-- projection tables (schema 3, gridsafe_core::projection::DDL).
CREATE INDEX hazards_by_state ON hazards_idx (state, village, domain);
CREATE INDEX hazards_by_village ON hazards_idx (village, domain, found_ms);
CREATE INDEX inspections_by_started ON inspections_idx (started_ms);
