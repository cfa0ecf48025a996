-- A key's cap on parallel requests (issue 17 item 6): how many of its
-- requests may be in flight at once across every replica; 0 is no cap.

-- +goose Up
ALTER TABLE keys ADD COLUMN max_parallel_requests BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE keys DROP COLUMN max_parallel_requests;
