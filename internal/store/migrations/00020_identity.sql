-- Identity and organisation: who owns an event, the admin API tokens
-- owners mint, the audit log, and the admin portal's sessions. Portable
-- like 00001: times are unix milliseconds (UTC) in BIGINT, NULL where the
-- Go value is the zero time; hashes are SHA-256 as lowercase hex TEXT.

-- +goose Up
-- The admin identity that created the event ('' for events from before
-- roles, which only owners and operators see). An organiser sees only
-- the events whose owner is theirs.
ALTER TABLE events ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX events_owner ON events (owner);

CREATE TABLE admin_tokens (
    id         TEXT   NOT NULL PRIMARY KEY,
    name       TEXT   NOT NULL DEFAULT '',
    role       TEXT   NOT NULL,
    hash       TEXT   NOT NULL UNIQUE,
    prefix     TEXT   NOT NULL DEFAULT '',
    created_by TEXT   NOT NULL DEFAULT '',
    expires_at BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);

-- Append-only: the store has no statement that updates or deletes a row.
-- before_json and after_json are already redacted by the writer.
CREATE TABLE audit (
    id          TEXT   NOT NULL PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT   NOT NULL DEFAULT '',
    role        TEXT   NOT NULL DEFAULT '',
    address     TEXT   NOT NULL DEFAULT '',
    resource    TEXT   NOT NULL DEFAULT '',
    resource_id TEXT   NOT NULL DEFAULT '',
    action      TEXT   NOT NULL DEFAULT '',
    status      BIGINT NOT NULL DEFAULT 0,
    before_json TEXT,
    after_json  TEXT
);
CREATE INDEX audit_at ON audit (at, id);

-- Server-side portal sessions, so signing out ends a session on every
-- replica. hash is the SHA-256 of the cookie's value.
CREATE TABLE admin_sessions (
    hash       TEXT   NOT NULL PRIMARY KEY,
    subject    TEXT   NOT NULL,
    name       TEXT   NOT NULL DEFAULT '',
    role       TEXT   NOT NULL,
    provider   TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE admin_sessions;
DROP TABLE audit;
DROP TABLE admin_tokens;
DROP INDEX events_owner;
ALTER TABLE events DROP COLUMN owner;
