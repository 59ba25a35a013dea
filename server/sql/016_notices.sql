-- Rectification notices (ADR 0015): the issuing body the administrator set; blocks of notice
-- numbers handed to devices (unique town-wide per year); and the register of numbers used, as
-- phones report them (a number never reported shows as a gap).
CREATE TABLE issuer (
    id         INTEGER PRIMARY KEY,
    json       TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE notice_blocks (
    year        INTEGER NOT NULL,
    first       INTEGER NOT NULL,
    last        INTEGER NOT NULL,
    device_id   TEXT NOT NULL,
    allotted_ms BIGINT NOT NULL,
    PRIMARY KEY (year, first)
);
CREATE INDEX notice_blocks_by_device ON notice_blocks (device_id, year);

CREATE TABLE notice_register (
    year        INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    device_id   TEXT NOT NULL,
    venue_id    TEXT NOT NULL,
    hazards     TEXT NOT NULL DEFAULT '',
    issued_ms   BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (year, n)
);
