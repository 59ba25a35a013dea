-- Schema 19: an administrator disables a user (never deletes one: their records stay theirs).
-- A disabled user cannot sign in or enrol a phone; disabling also revokes their phones and ends
-- their sessions. Shared, so every relay on one database refuses them.
CREATE TABLE disabled_users (
    user_id     TEXT PRIMARY KEY,
    disabled_ms BIGINT NOT NULL,
    disabled_by TEXT NOT NULL
);
