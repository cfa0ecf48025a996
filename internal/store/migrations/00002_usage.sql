-- Usage records: one row per request, written in batches by usage.Writer
-- and read back as aggregates by QueryUsage. Portable like 00001: times
-- are unix milliseconds (UTC), durations microseconds, both BIGINT.
--
-- latency_bucket is the index of latency_us in the log-scale scheme of
-- latencybucket.go (1 ms .. 10 min in 5% steps). Percentiles are computed
-- from GROUP BY counts of it, which every database can do; the scheme is
-- part of the schema and must never change once rows are written.
--
-- There is no primary key: rows are only ever appended and aggregated,
-- and a key would cost every insert an index update for nothing.

-- +goose Up
CREATE TABLE usage (
    time              BIGINT   NOT NULL,
    request_id        TEXT     NOT NULL DEFAULT '',
    key_id            TEXT     NOT NULL DEFAULT '',
    event_id          TEXT     NOT NULL DEFAULT '',
    attendee          TEXT     NOT NULL DEFAULT '',
    model             TEXT     NOT NULL DEFAULT '',
    deployment        TEXT     NOT NULL DEFAULT '',
    endpoint          TEXT     NOT NULL DEFAULT '',
    status            BIGINT   NOT NULL DEFAULT 0,
    attempts          BIGINT   NOT NULL DEFAULT 0,
    stream            BOOLEAN  NOT NULL DEFAULT FALSE,
    latency_us        BIGINT   NOT NULL DEFAULT 0,
    ttfb_us           BIGINT   NOT NULL DEFAULT 0,
    latency_bucket    SMALLINT NOT NULL DEFAULT 0,
    prompt_tokens     BIGINT   NOT NULL DEFAULT 0,
    completion_tokens BIGINT   NOT NULL DEFAULT 0,
    total_tokens      BIGINT   NOT NULL DEFAULT 0,
    estimated         BOOLEAN  NOT NULL DEFAULT FALSE,
    -- USD; NULL when the cost was not a finite number.
    cost              DOUBLE PRECISION,
    -- The request's "user" field (user is reserved in PostgreSQL).
    end_user          TEXT     NOT NULL DEFAULT ''
);

-- Every query is a time range, alone or under one equality filter.
CREATE INDEX usage_time ON usage (time);
CREATE INDEX usage_key_time ON usage (key_id, time);
CREATE INDEX usage_event_time ON usage (event_id, time);
CREATE INDEX usage_model_time ON usage (model, time);
CREATE INDEX usage_deployment_time ON usage (deployment, time);

-- One row per batch InsertUsage committed, keyed by a hash of the batch.
-- A retry of a batch whose COMMIT went through but whose answer was lost
-- (a timeout during the commit, a dropped connection) finds its hash and
-- writes nothing, so a record is never stored twice. Rows older than a
-- week are pruned by InsertUsage.
CREATE TABLE usage_batches (
    id         TEXT   NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL
);
CREATE INDEX usage_batches_created_at ON usage_batches (created_at);

-- +goose Down
DROP TABLE usage_batches;
DROP TABLE usage;
