-- Usage rollups: the aggregates every usage read answers from (dashboards,
-- reports, budgets, /admin/v1/usage), kept by InsertUsage in the
-- transaction that appends the raw records, so the batch-hash dedupe of
-- usage_batches makes them exact. See usage_rollup.go.
--
-- span is the period's length in milliseconds (3600000 for hours,
-- 86400000 for UTC days), period its start in unix milliseconds. cube is a
-- bit set of the dimensions the row keeps (key 1, team 2, event 4, model 8,
-- deployment 16, endpoint 32, status class 64); the others are '' or 0, so
-- a query reads the smallest cube that has its group and filters.
-- status_class is status / 100 (2, 4, 5; 0 when no status).
-- latency_hist is the latency_bucket histogram as "bucket:count,..." in
-- bucket order; merged by usage_hist_add on conflict.
--
-- The existing raw records move to usage_backlog: a background job moves
-- them back into usage in chunks, each chunk's rollups in the same
-- transaction, and reads scan raw records (both tables) until it is empty.

-- +goose Up
CREATE TABLE usage_rollups (
    span              BIGINT   NOT NULL,
    cube              SMALLINT NOT NULL,
    period            BIGINT   NOT NULL,
    key_id            TEXT     NOT NULL DEFAULT '',
    team_id           TEXT     NOT NULL DEFAULT '',
    event_id          TEXT     NOT NULL DEFAULT '',
    model             TEXT     NOT NULL DEFAULT '',
    deployment        TEXT     NOT NULL DEFAULT '',
    endpoint          TEXT     NOT NULL DEFAULT '',
    status_class      SMALLINT NOT NULL DEFAULT 0,
    requests          BIGINT   NOT NULL DEFAULT 0,
    errors            BIGINT   NOT NULL DEFAULT 0,
    estimated         BIGINT   NOT NULL DEFAULT 0,
    prompt_tokens     BIGINT   NOT NULL DEFAULT 0,
    completion_tokens BIGINT   NOT NULL DEFAULT 0,
    total_tokens      BIGINT   NOT NULL DEFAULT 0,
    cached_tokens     BIGINT   NOT NULL DEFAULT 0,
    reasoning_tokens  BIGINT   NOT NULL DEFAULT 0,
    audio_seconds     DOUBLE PRECISION NOT NULL DEFAULT 0,
    cost              DOUBLE PRECISION NOT NULL DEFAULT 0,
    max_latency_us    BIGINT   NOT NULL DEFAULT 0,
    latency_hist      TEXT     NOT NULL DEFAULT '',
    PRIMARY KEY (span, cube, period, key_id, team_id, event_id, model, deployment, endpoint, status_class)
);

ALTER TABLE usage RENAME TO usage_backlog;
DROP INDEX usage_key_time;
DROP INDEX usage_event_time;
DROP INDEX usage_model_time;
DROP INDEX usage_deployment_time;
DROP INDEX usage_time;
CREATE INDEX usage_backlog_time ON usage_backlog (time);

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
    cost              DOUBLE PRECISION,
    end_user          TEXT     NOT NULL DEFAULT '',
    cached_tokens     BIGINT   NOT NULL DEFAULT 0,
    reasoning_tokens  BIGINT   NOT NULL DEFAULT 0,
    audio_seconds     DOUBLE PRECISION NOT NULL DEFAULT 0,
    team_id           TEXT     NOT NULL DEFAULT '',
    batch_id          TEXT     NOT NULL DEFAULT ''
);
-- Raw records are read only for the partial hours at a range's edges,
-- for export, and until the backlog is rolled up: a time index serves
-- all of them, and each index more costs every insert.
CREATE INDEX usage_time ON usage (time);

-- +goose Down
INSERT INTO usage_backlog (time, request_id, key_id, event_id, attendee, model, deployment,
    endpoint, status, attempts, stream, latency_us, ttfb_us, latency_bucket,
    prompt_tokens, completion_tokens, total_tokens, estimated, cost, end_user,
    cached_tokens, reasoning_tokens, audio_seconds, team_id, batch_id)
    SELECT time, request_id, key_id, event_id, attendee, model, deployment,
    endpoint, status, attempts, stream, latency_us, ttfb_us, latency_bucket,
    prompt_tokens, completion_tokens, total_tokens, estimated, cost, end_user,
    cached_tokens, reasoning_tokens, audio_seconds, team_id, batch_id FROM usage;
DROP TABLE usage;
DROP INDEX usage_backlog_time;
ALTER TABLE usage_backlog RENAME TO usage;
CREATE INDEX usage_time ON usage (time);
CREATE INDEX usage_key_time ON usage (key_id, time);
CREATE INDEX usage_event_time ON usage (event_id, time);
CREATE INDEX usage_model_time ON usage (model, time);
CREATE INDEX usage_deployment_time ON usage (deployment, time);
DROP TABLE usage_rollups;
