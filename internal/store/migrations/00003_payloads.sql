-- The prompt log: the request body and the answer's text of requests that
-- prompt logging applies to (off by default), one row per request,
-- written by InsertUsage in the transaction of the request's usage record
-- and deleted by PurgePayloads once past their retention. Kept apart from
-- usage so the aggregates never read these large columns. Portable like
-- 00001: times are unix milliseconds (UTC).

-- +goose Up
CREATE TABLE usage_payloads (
    request_id TEXT   NOT NULL PRIMARY KEY,
    time       BIGINT NOT NULL,
    key_id     TEXT   NOT NULL DEFAULT '',
    model      TEXT   NOT NULL DEFAULT '',
    prompt     TEXT   NOT NULL DEFAULT '',
    response   TEXT   NOT NULL DEFAULT ''
);
-- Listing is newest first over a range, and purging deletes the oldest.
CREATE INDEX usage_payloads_time ON usage_payloads (time);

-- +goose Down
DROP TABLE usage_payloads;
