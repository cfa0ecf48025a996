-- The registry of objects held upstream (files, uploads, batches, vector
-- stores, conversations): which deployment holds each, which key (and
-- team, event) owns it, and what listing needs, so GET /v1/files shows a
-- caller its own objects across deployments without asking any upstream.
-- Times are unix milliseconds as in 00001. data is the object's JSON as
-- the client last saw it (ids already the gateway's). done marks an
-- object that will not change any more (a finished batch); charged marks
-- a batch whose usage was recorded, claimed by one conditional UPDATE so
-- it is recorded once across replicas and restarts.

-- +goose Up
CREATE TABLE objects (
    id          TEXT    NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL,
    key_id      TEXT    NOT NULL,
    team_id     TEXT    NOT NULL DEFAULT '',
    event_id    TEXT    NOT NULL DEFAULT '',
    deployment  TEXT    NOT NULL,
    upstream_id TEXT    NOT NULL,
    purpose     TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL DEFAULT '',
    data        TEXT    NOT NULL DEFAULT '',
    done        BOOLEAN NOT NULL DEFAULT FALSE,
    charged     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX objects_key_kind ON objects (key_id, kind, created_at, id);
CREATE INDEX objects_pending ON objects (kind, done);

-- +goose Down
DROP TABLE objects;
