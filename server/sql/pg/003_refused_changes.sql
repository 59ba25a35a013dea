-- Changes the relay refused for rewriting history (deleted or altered events, a sealed record
-- changed, an event its author was not allowed, a clock from the future): kept, never applied,
-- for the office to see on the device page.
CREATE TABLE refused_changes (
    hash        TEXT PRIMARY KEY,
    doc_id      TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    -- What the office reads: the rule broken, in Chinese.
    reason_zh   TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    bytes       BYTEA NOT NULL
);
CREATE INDEX refused_changes_by_device ON refused_changes (device_id, received_ms);
