-- Schema 7: the office dashboard's sessions and the login lockout.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Failed dashboard logins, per user name, for the lockout (kept for the lockout window only).
CREATE TABLE login_failures (
    user_id TEXT NOT NULL,
    at_ms   INTEGER NOT NULL
);
CREATE INDEX login_failures_by_user ON login_failures (user_id, at_ms);
