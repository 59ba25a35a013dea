-- Schema 6: one-time enrolment codes. The office prints a code for a grid worker; the phone enrols
-- with the user name and the code instead of a password. Stored hashed; single use; expiring.
CREATE TABLE enrol_codes (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    used_ms    INTEGER,
    device_id  TEXT
) WITHOUT ROWID;
