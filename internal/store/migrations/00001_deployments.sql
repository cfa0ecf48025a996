-- The first schema: deployments, gateway settings and the revision that
-- replicas poll. One file serves SQLite and PostgreSQL, so it sticks to
-- types both understand; times are unix milliseconds (UTC) in BIGINT.

-- +goose Up
CREATE TABLE deployments (
    id            TEXT    NOT NULL PRIMARY KEY,
    model         TEXT    NOT NULL,
    class         TEXT    NOT NULL DEFAULT '',
    provider      TEXT    NOT NULL DEFAULT '',
    endpoint      TEXT    NOT NULL DEFAULT '',
    resource_name TEXT    NOT NULL DEFAULT '',
    deployment    TEXT    NOT NULL DEFAULT '',
    api_version   TEXT    NOT NULL DEFAULT '',
    -- "v1:" + base64(nonce || AES-256-GCM ciphertext); NULL when no key.
    api_key_enc   TEXT,
    priority      BIGINT  NOT NULL DEFAULT 0,
    weight        BIGINT  NOT NULL DEFAULT 0,
    rpm           BIGINT  NOT NULL DEFAULT 0,
    tpm           BIGINT  NOT NULL DEFAULT 0,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    -- JSON object; NULL when empty.
    model_info    TEXT,
    origin        TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

CREATE TABLE settings (
    key        TEXT   NOT NULL PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row, bumped in the transaction of every deployment change.
CREATE TABLE revision (
    id    INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    value BIGINT  NOT NULL
);
INSERT INTO revision (id, value) VALUES (1, 0);

-- +goose Down
DROP TABLE revision;
DROP TABLE settings;
DROP TABLE deployments;
