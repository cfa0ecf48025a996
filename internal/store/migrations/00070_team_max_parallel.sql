-- A team's cap on parallel requests (issue 17 item 6): how many requests
-- of all its keys together may be in flight at once across every replica;
-- 0 is no cap.

-- +goose Up
ALTER TABLE teams ADD COLUMN max_parallel_requests BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE teams DROP COLUMN max_parallel_requests;
