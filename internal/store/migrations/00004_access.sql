-- Stored client keys and events. Portable like 00001: times are unix
-- milliseconds (UTC) in BIGINT, NULL where the Go value is the zero time
-- ("never expires", "not revoked"); JSON is TEXT, NULL when empty.
--
-- Hashes are SHA-256 as lowercase hex TEXT rather than BLOB/BYTEA: one type
-- name both databases read the same way, compared byte for byte in the
-- unique index, and legible in a query console.
--
-- Every change to these tables bumps revision in its transaction, so a
-- replica that polls the revision reloads keys, and a revocation reaches
-- it, within one poll.

-- +goose Up
CREATE TABLE keys (
    id            TEXT             NOT NULL PRIMARY KEY,
    hash          TEXT             NOT NULL UNIQUE,
    prefix        TEXT             NOT NULL DEFAULT '',
    name          TEXT             NOT NULL DEFAULT '',
    owner         TEXT             NOT NULL DEFAULT '',
    team          TEXT             NOT NULL DEFAULT '',
    -- JSON array of model names; NULL allows every model.
    models        TEXT,
    rpm           BIGINT           NOT NULL DEFAULT 0,
    tpm           BIGINT           NOT NULL DEFAULT 0,
    max_tokens    BIGINT           NOT NULL DEFAULT 0,
    budget_tokens BIGINT           NOT NULL DEFAULT 0,
    budget_cost   DOUBLE PRECISION NOT NULL DEFAULT 0,
    budget_period TEXT             NOT NULL DEFAULT '',
    expires_at    BIGINT,
    revoked_at    BIGINT,
    log_payloads  BOOLEAN          NOT NULL DEFAULT FALSE,
    -- JSON object; NULL when empty.
    metadata      TEXT,
    -- '' on keys that are not an attendee's.
    event_id      TEXT             NOT NULL DEFAULT '',
    attendee      TEXT             NOT NULL DEFAULT '',
    generation    BIGINT           NOT NULL DEFAULT 0,
    created_at    BIGINT           NOT NULL,
    updated_at    BIGINT           NOT NULL
);
-- One key per attendee of an event; other keys have no event and are not
-- constrained.
CREATE UNIQUE INDEX keys_attendee ON keys (event_id, attendee) WHERE event_id <> '';
-- ListKeys by event and DeleteEvent.
CREATE INDEX keys_event ON keys (event_id);

CREATE TABLE events (
    id                TEXT    NOT NULL PRIMARY KEY,
    name              TEXT    NOT NULL DEFAULT '',
    description       TEXT    NOT NULL DEFAULT '',
    start_at          BIGINT,
    end_at            BIGINT,
    time_zone         TEXT    NOT NULL DEFAULT '',
    max_token_cap     BIGINT  NOT NULL DEFAULT 0,
    daily_request_cap BIGINT  NOT NULL DEFAULT 0,
    -- JSON array of model names; NULL allows every model.
    models            TEXT,
    organizer_name    TEXT    NOT NULL DEFAULT '',
    organizer_email   TEXT    NOT NULL DEFAULT '',
    url               TEXT    NOT NULL DEFAULT '',
    url_text          TEXT    NOT NULL DEFAULT '',
    -- NULL when attendees cannot self-register.
    shared_code_hash  TEXT,
    active            BOOLEAN NOT NULL DEFAULT FALSE,
    log_payloads      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE events;
DROP TABLE keys;
