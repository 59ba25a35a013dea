-- Records the relay said left this phone's scope (their venue moved to another grid) while this
-- phone still had changes of its own to send: dropped once those are sent.
CREATE TABLE pending_drops (
    doc_id TEXT PRIMARY KEY
) WITHOUT ROWID;
