-- Schema 18: the office's forms are single-use. A page carries a random token; the first
-- submit records it and acts, a second (a double click, two tabs, a retry) finds it and does
-- nothing. Shared, so two relays behind one address act once too.
CREATE TABLE form_uses (
    token   TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    used_ms BIGINT NOT NULL
);
